# SPDX-License-Identifier: BSL-1.0
# install() rules and the exported package: find_package(mpdecor CONFIG) gives mpdecor::mpdecor.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS mpdecor EXPORT mpdecorTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/mpdecor DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT mpdecorTargets NAMESPACE mpdecor::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mpdecor)
# The config of a cross build takes Boost and cereal from the links installed below.
if(MPDECOR_HOST_INCLUDE_DIR)
  set(MPDECOR_CROSS_HOST_HEADERS TRUE)
else()
  set(MPDECOR_CROSS_HOST_HEADERS FALSE)
endif()
configure_package_config_file(cmake/mpdecorConfig.cmake.in
  ${PROJECT_BINARY_DIR}/mpdecorConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mpdecor)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/mpdecorConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/mpdecorConfig.cmake ${PROJECT_BINARY_DIR}/mpdecorConfigVersion.cmake
  cmake/mpdecor_host_headers.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mpdecor)

# A cross build (cmake/toolchain-mingw64.cmake) compiled against the build machine's Boost
# and cereal headers, for which the target has no package of its own. Its package carries
# links to those same headers (host-include/boost and host-include/cereal beside the
# config), so that a consumer builds with an ordinary MinGW toolchain file and nothing of
# mpdecor's, and gets exactly the Boost the library was compiled with.
if(MPDECOR_HOST_INCLUDE_DIR)
  set(host_include_destination ${CMAKE_INSTALL_LIBDIR}/cmake/mpdecor/host-include)
  foreach(library boost cereal)
    file(REAL_PATH ${MPDECOR_HOST_INCLUDE_DIR}/${library} host_headers)
    install(CODE "
      set(link \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${host_include_destination}/${library}\")
      message(STATUS \"Installing: \${link} -> ${host_headers}\")
      get_filename_component(folder \"\${link}\" DIRECTORY)
      file(MAKE_DIRECTORY \"\${folder}\")
      file(CREATE_LINK \"${host_headers}\" \"\${link}\" SYMBOLIC)")
  endforeach()
endif()

# pkg-config file (cmake/mpdecor.pc.in), relocatable: its prefix is found from its own place.
file(RELATIVE_PATH MPDECOR_PC_PREFIX_FROM_PCDIR
  /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" MPDECOR_PC_PREFIX_FROM_PCDIR "${MPDECOR_PC_PREFIX_FROM_PCDIR}")
set(mpdecor_pc_system_libs "")
foreach(library IN LISTS CMAKE_DL_LIBS)
  string(APPEND mpdecor_pc_system_libs " -l${library}")
endforeach()
if(WIN32)
  string(APPEND mpdecor_pc_system_libs " -lws2_32 -lbcrypt -lshell32")
endif()
if(MPDECOR_BOOST_PROCESS_TARGET)
  string(APPEND mpdecor_pc_system_libs " -lboost_process")
endif()
if(MPDECOR_HAVE_LIBBACKTRACE)
  string(APPEND mpdecor_pc_system_libs " -lbacktrace")
endif()
string(STRIP "${mpdecor_pc_system_libs}" mpdecor_pc_system_libs)
# A static library brings its own dependencies to every consumer's link; a shared one
# only to a static link of the consumer.
set(MPDECOR_PC_CFLAGS "")
if(WIN32)
  set(MPDECOR_PC_CFLAGS " -D_WIN32_WINNT=0x0A00 -DWIN32_LEAN_AND_MEAN")
endif()
if(BUILD_SHARED_LIBS)
  # include/mpdecor/export.hpp: a consumer of a shared build imports the API.
  string(APPEND MPDECOR_PC_CFLAGS " -DMPDECOR_DYN_LINK")
  set(MPDECOR_PC_LIBS "")
  set(MPDECOR_PC_PRIVATE_LIBS "${mpdecor_pc_system_libs}")
else()
  set(MPDECOR_PC_LIBS "${mpdecor_pc_system_libs}")
  set(MPDECOR_PC_PRIVATE_LIBS "")
endif()
configure_file(cmake/mpdecor.pc.in ${PROJECT_BINARY_DIR}/mpdecor.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/mpdecor.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
