// SPDX-License-Identifier: BSL-1.0
// mpdecor: compile-time checks on the parameters and result of a function that crosses a
// process boundary, each with a message that says what to change.
#ifndef MPDECOR_DETAIL_SIGNATURE_HPP
#define MPDECOR_DETAIL_SIGNATURE_HPP

#include <mpdecor/detail/wire.hpp>
#include <mpdecor/serialization.hpp>

#include <type_traits>
#include <typeinfo>

namespace mpdecor::detail {

template <class T>
inline constexpr bool is_wire_serializable_v =
    cereal::traits::is_output_serializable<T, output_archive>::value&&
        cereal::traits::is_input_serializable<T, input_archive>::value;

template <class Parameter>
constexpr bool check_parameter() {
  using value_type = std::remove_cv_t<std::remove_reference_t<Parameter>>;
  static_assert(!std::is_pointer_v<value_type>,
                "mpdecor: a pointer parameter cannot cross a process boundary (the child has "
                "its own memory); take the value, a std::string or a std::vector instead");
  static_assert(!std::is_lvalue_reference_v<Parameter> ||
                    std::is_const_v<std::remove_reference_t<Parameter>>,
                "mpdecor: a non-const reference parameter cannot cross a process boundary "
                "(the change would stay in the child); return the new value instead");
  static_assert(is_wire_serializable_v<value_type>,
                "mpdecor: a parameter type has no serialization: give it a serialize() "
                "function, make it a plain aggregate, or include the cereal header for it");
  static_assert(std::is_default_constructible_v<value_type>,
                "mpdecor: parameter types must be default constructible (the child creates "
                "them before reading them)");
  return true;
}

template <class Result>
constexpr bool check_result() {
  if constexpr (!std::is_void_v<Result>) {
    static_assert(!std::is_pointer_v<Result> && !std::is_reference_v<Result>,
                  "mpdecor: a function that returns a pointer or a reference cannot run in "
                  "another process; return a value");
    static_assert(is_wire_serializable_v<Result>,
                  "mpdecor: the result type has no serialization: give it a serialize() "
                  "function, make it a plain aggregate, or include the cereal header for it");
    static_assert(std::is_default_constructible_v<Result>,
                  "mpdecor: the result type must be default constructible");
  }
  return true;
}

template <class Result, class... Parameters>
constexpr bool check_signature() {
  return check_result<Result>() && (true && ... && check_parameter<Parameters>());
}

/// The identity of a signature as a call frame carries it and a registration records it:
/// the type's name in this executable (parent and children always run the same one), with
/// references and const taken off the parameters, which travel as values either way. A
/// call by name whose signature differs from the registered function's is refused.
template <class Result, class... Parameters>
const char* signature_id() noexcept {
  return typeid(Result(*)(std::remove_cv_t<std::remove_reference_t<Parameters>>...)).name();
}

} // namespace mpdecor::detail

#endif
