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
configure_package_config_file(cmake/mpdecorConfig.cmake.in
  ${PROJECT_BINARY_DIR}/mpdecorConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mpdecor)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/mpdecorConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/mpdecorConfig.cmake ${PROJECT_BINARY_DIR}/mpdecorConfigVersion.cmake
  cmake/mpdecor_host_headers.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/mpdecor)
