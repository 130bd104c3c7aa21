// SPDX-License-Identifier: BSL-1.0
// mpdecor: registering a function by name.
//
//     double train(std::string config, int epochs);
//     MPDECOR_REGISTER(train);                  // name "train"
//     MPDECOR_REGISTER_AS(train, "train_v2");   // or an explicit name
//
//     inline constexpr auto square = [](int x) { return x * x; };
//     MPDECOR_REGISTER(square);                 // a captureless lambda, or an empty
//                                               // function object: called as a function
//
// Register at namespace scope in a source file of the executable itself: the linker drops
// a registration from a static library that nothing else references, and the child then
// reports the name as unknown.
#ifndef MPDECOR_REGISTER_HPP
#define MPDECOR_REGISTER_HPP

#include <mpdecor/export.hpp>
#include <mpdecor/detail/callable.hpp>
#include <mpdecor/detail/signature.hpp>
#include <mpdecor/detail/wire.hpp>

#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace mpdecor::detail {

/// A function pointer with its type erased; converted back before the call.
using erased_function = void (*)();

/// Decodes the arguments from `in`, calls the function, appends the encoded result to `out`
/// (leaving its large blocks to shared memory when `side` is given). Throws
/// `decode_failure` when the arguments cannot be decoded; the function's own exceptions
/// pass through.
using invoker = void (*)(erased_function function, input_archive& in, std::string& out,
                         attachments* side);

/// One registered function.
struct registration {
  std::string_view name;
  erased_function function;
  invoker invoke;
  const char* signature; ///< signature_id of the function
  const char* file;
  int line;
};

/// Records a registration (runs during static initialization).
MPDECOR_DECL void add_registration(const registration& entry) noexcept;
/// The registration of `name`, or nullptr.
MPDECOR_DECL const registration* find_registration(std::string_view name) noexcept;
/// Copies the blocks a reply left to shared memory into a segment that the child sends with
/// it (lib/shared_memory.cpp); the encoded result must still be alive. False if no segment
/// could be made: the reply is then encoded again with everything inline.
MPDECOR_DECL bool seal_reply_blocks(const attachments& side) noexcept;

/// The registered name of `function`; throws `not_registered` with `signature` in the message.
MPDECOR_DECL std::string_view registered_name(erased_function function, const char* signature);

template <class Result, class... Parameters>
void invoke(erased_function function, input_archive& in, std::string& out, attachments* side) {
  std::tuple<std::remove_cv_t<std::remove_reference_t<Parameters>>...> arguments;
  try {
    std::apply([&in](auto&... argument) { (in(argument), ...); }, arguments);
  } catch (const cereal::Exception& e) {
    throw decode_failure(e.what());
  }
  if (in.bytes_left() != 0)
    throw decode_failure("the arguments are followed by " + std::to_string(in.bytes_left()) +
                         " unexpected bytes (does the signature match?)");
  const auto typed = reinterpret_cast<Result (*)(Parameters...)>(function);
  if constexpr (std::is_void_v<Result>) {
    std::apply(typed, std::move(arguments));
  } else {
    Result result = std::apply(typed, std::move(arguments));
    const auto start = out.size();
    encode_sized(out, side, [&result](output_archive& archive) { archive(result); });
    if (side != nullptr && !side->empty() && !seal_reply_blocks(*side)) {
      out.resize(start);
      *side = attachments();
      encode_sized(out, nullptr, [&result](output_archive& archive) { archive(result); });
    }
  }
}

/// The object MPDECOR_REGISTER defines: it registers during static initialization.
struct registrar {
  template <class Result, class... Parameters>
  registrar(Result (*function)(Parameters...), std::string_view name, const char* file,
            int line) noexcept {
    static_assert(check_signature<Result, Parameters...>());
    add_registration({name, reinterpret_cast<erased_function>(function),
                      &invoke<Result, Parameters...>, signature_id<Result, Parameters...>(), file,
                      line});
  }
  /// A captureless lambda or a stateless function object (detail/callable.hpp). A name
  /// spelled as an object is made, `MPDECOR_REGISTER(scorer{})`, is registered as "scorer".
  template <class Object, std::enable_if_t<std::is_class_v<Object>, int> = 0>
  registrar(const Object& object, std::string_view name, const char* file, int line) noexcept
      : registrar(function_pointer_of(object), without_braces(name), file, line) {}

private:
  static constexpr std::string_view without_braces(std::string_view name) noexcept {
    const auto ends_with = [name](std::string_view end) {
      return name.size() > end.size() && name.substr(name.size() - end.size()) == end;
    };
    return ends_with("{}") || ends_with("()") ? name.substr(0, name.size() - 2) : name;
  }
};

} // namespace mpdecor::detail

#define MPDECOR_DETAIL_CAT2(a, b) a##b
#define MPDECOR_DETAIL_CAT(a, b) MPDECOR_DETAIL_CAT2(a, b)

/// Registers `function` under an explicit name; use at namespace scope.
#define MPDECOR_REGISTER_AS(function, name)                                                        \
  static const ::mpdecor::detail::registrar MPDECOR_DETAIL_CAT(mpdecor_registrar_, __COUNTER__) {  \
    (function), (name), __FILE__, __LINE__                                                         \
  }

/// Registers `function` under its own spelling ("train", "ns::train"); use at namespace scope.
#define MPDECOR_REGISTER(function) MPDECOR_REGISTER_AS(function, #function)

#endif
