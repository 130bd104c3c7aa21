// SPDX-License-Identifier: BSL-1.0
// mpdecor: the two decorators.
//
//     auto h = mpdecor::proc(train)("a.cfg", 5);             // starts a child, returns at once
//     double loss = mpdecor::proc_wait(train)("b.cfg", 10);  // runs in a child, waits
//
// Options go on the decorator: `mpdecor::proc(train).timeout(5s).env("SEED", "1")`, or
// `mpdecor::proc(train, opts)` with an `mpdecor::options`.
#ifndef MPDECOR_PROC_HPP
#define MPDECOR_PROC_HPP

#include <mpdecor/detail/call.hpp>
#include <mpdecor/detail/signature.hpp>
#include <mpdecor/detail/wire.hpp>
#include <mpdecor/handle.hpp>
#include <mpdecor/options.hpp>
#include <mpdecor/register.hpp>

#include <boost/core/type_name.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <type_traits>
#include <utility>

namespace mpdecor {
namespace detail {

/// Converts an argument to the parameter's type, without a copy when it already is one.
template <class Parameter, class Argument>
decltype(auto) as_parameter(Argument&& argument) {
  using value_type = std::remove_cv_t<std::remove_reference_t<Parameter>>;
  if constexpr (std::is_same_v<std::remove_cv_t<std::remove_reference_t<Argument>>, value_type>)
    return static_cast<const value_type&>(argument);
  else
    return value_type(std::forward<Argument>(argument));
}

/// Writes one argument as its parameter's type. One that must be converted first is a
/// temporary, gone before the caller makes the shared segment: it is written inline.
template <class Parameter, class Argument>
void encode_argument(output_archive& archive, const Argument& argument) {
  using value_type = std::remove_cv_t<std::remove_reference_t<Parameter>>;
  if constexpr (std::is_same_v<std::remove_cv_t<Argument>, value_type>) {
    archive(argument);
  } else {
    attachments* const side = archive.swap_side(nullptr);
    archive(as_parameter<Parameter>(argument));
    archive.swap_side(side);
  }
}

/// Encodes a call frame: header, function name, the caller's signature (`signature_id`;
/// empty: not checked), arguments in parameter order. With `side`, large vectors and
/// strings among the arguments are left to shared memory (recorded in `side`); the
/// arguments must stay alive until the segment is made.
template <class... Parameters, class... Arguments>
std::string encode_call_sharing(attachments* side, std::string_view name, const char* signature,
                                const Arguments&... arguments) {
  std::string frame(frame_header_size, '\0');
  const std::string function(name);
  const std::string called_as(signature);
  encode_sized(frame, side, [&](output_archive& archive) {
    // The name and signature are local strings: always inline, whatever the threshold.
    attachments* const sharing = archive.swap_side(nullptr);
    archive(function, called_as);
    archive.swap_side(sharing);
    (encode_argument<Parameters>(archive, arguments), ...);
  });
  write_frame_header(frame.data(), frame_kind::call, frame.size() - frame_header_size,
                     side != nullptr && !side->empty());
  return frame;
}

/// Encodes a call frame with everything inline.
template <class... Parameters, class... Arguments>
std::string encode_call(std::string_view name, const char* signature, Arguments&&... arguments) {
  return encode_call_sharing<Parameters...>(nullptr, name, signature, arguments...);
}

/// What `proc` and `proc_wait` return: a callable with the function's parameters.
template <bool Wait, class Result, class... Parameters>
class decorator {
  static_assert(check_signature<Result, Parameters...>());

public:
  decorator(std::string name, options settings)
      : name_(std::move(name)), settings_(std::move(settings)) {}

  /// Runs the call in a child. `proc`: returns a handle at once. `proc_wait`: waits and
  /// returns the function's result (or throws the call's error).
  template <class... Arguments>
  auto operator()(Arguments&&... arguments) const {
    static_assert(std::is_invocable_v<Result (*)(Parameters...), Arguments&&...>,
                  "mpdecor: these arguments do not match the function's parameters "
                  "(a direct call with them would not compile either)");
    auto state = submit(make_request(name_, settings_, [&](attachments* side) {
      return encode_call_sharing<Parameters...>(side, name_, signature_id<Result, Parameters...>(),
                                                arguments...);
    }));
    handle<Result> call(std::move(state));
    if constexpr (Wait)
      return call.get();
    else
      return call;
  }

  /// Kills the child and fails the call with `timeout_error` after `limit`.
  template <class Rep, class Period>
  decorator timeout(std::chrono::duration<Rep, Period> limit) const {
    decorator copy = *this;
    copy.settings_.timeout = detail::saturating_milliseconds(limit);
    return copy;
  }
  /// Sets an environment variable in the child.
  decorator env(std::string name, std::string value) const {
    decorator copy = *this;
    copy.settings_.environment.emplace_back(std::move(name), std::move(value));
    return copy;
  }
  /// Limits the child's memory to `bytes`; see `options::memory_limit`.
  decorator memory_limit(std::size_t bytes) const {
    decorator copy = *this;
    copy.settings_.memory_limit = bytes;
    return copy;
  }
  /// Starts the children with `method` (see `start_method`).
  decorator start_method(mpdecor::start_method method) const {
    decorator copy = *this;
    copy.settings_.start = method;
    return copy;
  }
  /// Runs the calls as Slurm job steps with these settings.
  decorator slurm(slurm_options settings) const {
    decorator copy = *this;
    copy.settings_.start = mpdecor::start_method::slurm;
    copy.settings_.slurm = std::move(settings);
    return copy;
  }
  /// Runs the child in `directory`.
  decorator working_directory(std::filesystem::path directory) const {
    decorator copy = *this;
    copy.settings_.working_directory = std::move(directory);
    return copy;
  }

  /// Sends the child's standard output and standard error to `target` (see
  /// `output_target`): `proc(f).output(mpdecor::output_target::capture())`.
  decorator output(output_target target) const {
    decorator copy = *this;
    copy.settings_.standard_output = target;
    copy.settings_.standard_error = std::move(target);
    return copy;
  }
  /// Sends the child's standard output to `target`.
  decorator standard_output(output_target target) const {
    decorator copy = *this;
    copy.settings_.standard_output = std::move(target);
    return copy;
  }
  /// Sends the child's standard error to `target`.
  decorator standard_error(output_target target) const {
    decorator copy = *this;
    copy.settings_.standard_error = std::move(target);
    return copy;
  }

  /// The registered name the calls go to.
  const std::string& name() const noexcept { return name_; }
  /// The options every call through this decorator uses.
  const options& settings() const noexcept { return settings_; }

private:
  std::string name_;
  options settings_;
};

template <bool Wait, class Result, class... Parameters>
decorator<Wait, Result, Parameters...> decorate(Result (*function)(Parameters...),
                                                options settings) {
  const auto name = registered_name(reinterpret_cast<erased_function>(function),
                                    boost::core::type_name<Result(Parameters...)>().c_str());
  return {std::string(name), std::move(settings)};
}

template <class Signature>
struct by_name;
template <class Result, class... Parameters>
struct by_name<Result(Parameters...)> {
  template <bool Wait>
  using type = decorator<Wait, Result, Parameters...>;
};

} // namespace detail

// Each form below is overloaded rather than given a defaulted `options` parameter: GCC 12
// destroys a default argument's temporary twice when the call is written inside a co_await
// expression (`co_await async_call(ex, mpdecor::proc(f), ...)`), which frees the options'
// memory twice. Seen with GCC 12.2; clang is unaffected.

/// Decorates a registered function: each call starts a child and returns a `handle` at once.
/// Throws `not_registered` if the function was not registered with MPDECOR_REGISTER.
template <class Result, class... Parameters>
auto proc(Result (*function)(Parameters...), options settings) {
  return detail::decorate<false>(function, std::move(settings));
}
/// `proc(function, options)` with default options.
template <class Result, class... Parameters>
auto proc(Result (*function)(Parameters...)) {
  return detail::decorate<false>(function, options());
}

/// Decorates a registered function: each call runs in a child and returns its result.
template <class Result, class... Parameters>
auto proc_wait(Result (*function)(Parameters...), options settings) {
  return detail::decorate<true>(function, std::move(settings));
}
/// `proc_wait(function, options)` with default options.
template <class Result, class... Parameters>
auto proc_wait(Result (*function)(Parameters...)) {
  return detail::decorate<true>(function, options());
}

/// `proc` and `proc_wait` of a registered captureless lambda or stateless function object.
template <class Object, std::enable_if_t<detail::is_function_object_v<Object>, int> = 0>
auto proc(const Object& object, options settings) {
  return proc(detail::function_pointer_of(object), std::move(settings));
}
/// `proc(object, options)` with default options.
template <class Object, std::enable_if_t<detail::is_function_object_v<Object>, int> = 0>
auto proc(const Object& object) {
  return proc(detail::function_pointer_of(object));
}
/// `proc_wait(object, options)`; see `proc(object)`.
template <class Object, std::enable_if_t<detail::is_function_object_v<Object>, int> = 0>
auto proc_wait(const Object& object, options settings) {
  return proc_wait(detail::function_pointer_of(object), std::move(settings));
}
/// `proc_wait(object, options)` with default options.
template <class Object, std::enable_if_t<detail::is_function_object_v<Object>, int> = 0>
auto proc_wait(const Object& object) {
  return proc_wait(detail::function_pointer_of(object));
}

/// Calls a function by its registered name, with the signature given explicitly:
/// `mpdecor::proc<double(std::string, int)>("train")`. The child reports an unknown name
/// as `not_registered`, and a call whose signature differs from the registered function's
/// as `protocol_error` naming both.
template <class Signature>
auto proc(std::string name, options settings) {
  return typename detail::by_name<Signature>::template type<false>(std::move(name),
                                                                   std::move(settings));
}
/// `proc<Signature>(name, options)` with default options.
template <class Signature>
auto proc(std::string name) {
  return proc<Signature>(std::move(name), options());
}

/// `proc_wait` by registered name; see `proc<Signature>(name)`.
template <class Signature>
auto proc_wait(std::string name, options settings) {
  return typename detail::by_name<Signature>::template type<true>(std::move(name),
                                                                  std::move(settings));
}
/// `proc_wait<Signature>(name, options)` with default options.
template <class Signature>
auto proc_wait(std::string name) {
  return proc_wait<Signature>(std::move(name), options());
}

} // namespace mpdecor

#endif
