// SPDX-License-Identifier: BSL-1.0
// mpdecor: a captureless lambda or a stateless function object, called in a child as a
// function is. Each such type maps to one plain function pointer, which the registry and
// the decorators use as they use a function's own address:
//   - a captureless lambda: its conversion to a function pointer (one invoker per
//     closure type, whichever copy of the lambda converts);
//   - an empty function object without that conversion: a function that default-
//     constructs the object and calls it.
// State could not cross to the child (it runs its own copy of the program), so a lambda
// with captures or an object with data members is refused at compile time.
#ifndef MPDECOR_DETAIL_CALLABLE_HPP
#define MPDECOR_DETAIL_CALLABLE_HPP

#include <type_traits>
#include <utility>

namespace mpdecor::detail {

/// The parameters and result of a call operator, as a plain function pointer type.
template <class Member>
struct call_operator_of;
template <class Class, class Result, class... Parameters>
struct call_operator_of<Result (Class::*)(Parameters...) const> {
  using pointer = Result (*)(Parameters...);
};
template <class Class, class Result, class... Parameters>
struct call_operator_of<Result (Class::*)(Parameters...)> {
  using pointer = Result (*)(Parameters...);
};
template <class Class, class Result, class... Parameters>
struct call_operator_of<Result (Class::*)(Parameters...) const noexcept> {
  using pointer = Result (*)(Parameters...);
};
template <class Class, class Result, class... Parameters>
struct call_operator_of<Result (Class::*)(Parameters...) noexcept> {
  using pointer = Result (*)(Parameters...);
};

template <class T, class = void>
struct has_one_call_operator : std::false_type {};
template <class T>
struct has_one_call_operator<T, std::void_t<decltype(&T::operator())>> : std::true_type {};

/// A class type called as a function: a lambda or a function object with one
/// non-template operator() (mpdecor's own decorators have template ones, and are not).
template <class T>
inline constexpr bool is_function_object_v =
    std::is_class_v<std::decay_t<T>>&& has_one_call_operator<std::decay_t<T>>::value;

template <class Object, class Pointer>
struct stateless_call;
template <class Object, class Result, class... Parameters>
struct stateless_call<Object, Result (*)(Parameters...)> {
  static Result call(Parameters... arguments) {
    return Object{}(std::forward<Parameters>(arguments)...);
  }
};

/// The function pointer that stands for `object` (see the file comment).
template <class Object>
auto function_pointer_of(const Object& object) {
  static_assert(has_one_call_operator<Object>::value,
                "mpdecor: a generic lambda (auto parameters) or an object with several "
                "operator() overloads has no single signature to call in a child; give the "
                "lambda's parameters their types");
  using pointer = typename call_operator_of<decltype(&Object::operator())>::pointer;
  if constexpr (std::is_convertible_v<const Object&, pointer>) {
    return static_cast<pointer>(object);
  } else {
    static_assert(std::is_empty_v<Object>,
                  "mpdecor: a lambda with captures, or a function object with data members, "
                  "cannot be called in a child: the child runs its own copy of the program "
                  "and never sees the parent's copy of that state; pass it as arguments");
    static_assert(std::is_default_constructible_v<Object>,
                  "mpdecor: a function object called in a child must be default "
                  "constructible (the child makes its own)");
    return &stateless_call<Object, pointer>::call;
  }
}

} // namespace mpdecor::detail

#endif
