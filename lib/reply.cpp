// SPDX-License-Identifier: BSL-1.0
// mpdecor: encoding and decoding of replies, and serving a decoded call.
#include "registry.hpp"
#include "reply.hpp"
#include "stack_trace.hpp"

#include <boost/core/demangle.hpp>

#include <typeinfo>

namespace mpdecor::detail {
namespace {

std::string current_exception_type() {
  if (const std::type_info* type = current_exception_type_info())
    return boost::core::demangle(type->name());
  return "unknown exception type";
}

// "int(std::string)" for the identity of `int (*)(std::string)` (signature_id).
std::string readable_signature(const char* id) {
  std::string text = boost::core::demangle(id);
  const auto pointer = text.find(" (*)");
  if (pointer != std::string::npos)
    text.erase(pointer, 4);
  return text;
}

std::string frame_of(frame_kind kind, const std::string& first,
                     const std::string* second = nullptr) {
  std::string frame(frame_header_size, '\0');
  output_archive archive(frame);
  archive(first);
  if (second != nullptr)
    archive(*second);
  write_frame_header(frame.data(), kind, frame.size() - frame_header_size);
  return frame;
}

// An exception's type and message, then its stack trace's bytes (stack_trace.hpp), which
// run to the end of the frame.
std::string exception_frame(const std::string& type, const std::string& message,
                            const std::string& trace) {
  std::string frame = frame_of(frame_kind::exception, type, &message);
  frame += trace;
  write_frame_header(frame.data(), frame_kind::exception, frame.size() - frame_header_size);
  return frame;
}

// Runs the call and encodes what came of it as a frame.
std::string serve_call_named(const std::string& name, std::string_view payload,
                             segment_contents segment, attachments* side) {
  input_archive archive(payload, segment);
  std::string called;
  std::string called_as;
  try {
    archive(called, called_as);
  } catch (const std::exception& e) {
    return frame_of(frame_kind::bad_call, std::string("the call names no function: ") + e.what());
  }
  if (called != name)
    return frame_of(frame_kind::bad_call, "the call is for '" + called +
                                              "' but the child was started for '" + name + "'");
  const registration* entry = find_registration(name);
  if (entry == nullptr)
    return frame_of(frame_kind::unknown_function,
                    "no function is registered as '" + name +
                        "' in this executable (registered: " + registered_names() + ")");
  if (!called_as.empty() && called_as != entry->signature)
    return frame_of(frame_kind::bad_call,
                    "'" + name + "' is registered as " + readable_signature(entry->signature) +
                        " but was called as " + readable_signature(called_as.c_str()));
  std::string frame(frame_header_size, '\0');
  try {
    entry->invoke(entry->function, archive, frame, side);
  } catch (const decode_failure& e) {
    return frame_of(frame_kind::bad_call,
                    "the arguments of '" + name + "' could not be decoded: " + e.what());
  } catch (const std::exception& e) {
    const std::string type = boost::core::demangle(typeid(e).name());
    const std::string message = e.what();
    return exception_frame(type, message, encoded_throw_trace(&e));
  } catch (...) {
    return exception_frame(current_exception_type(), {}, encoded_throw_trace(nullptr));
  }
  write_frame_header(frame.data(), frame_kind::value, frame.size() - frame_header_size,
                     side != nullptr && !side->empty());
  return frame;
}

} // namespace

std::string serve_call(std::string_view expected_name, std::string_view payload,
                       segment_contents segment, attachments* side) {
  return serve_call_named(std::string(expected_name), payload, segment, side);
}

failure decode_reply(frame_kind kind, std::string_view payload, const reply_context& context) {
  failure result;
  result.function = std::string(context.function);
  result.pid = context.pid;
  const std::string child = "mpdecor: the child (pid " + std::to_string(context.pid) + ")";
  input_archive archive(payload);
  switch (kind) {
  case frame_kind::value:
    return result;
  case frame_kind::exception:
    archive(result.type, result.message);
    result.trace = std::string(payload.substr(payload.size() - archive.bytes_left()));
    result.what = failure::kind::remote;
    if (context.memory_limit != 0 && result.type == "std::bad_alloc") {
      result.what = failure::kind::memory_limit;
      result.memory_limit = context.memory_limit;
    }
    return result;
  case frame_kind::unknown_function:
    archive(result.message);
    result.message = child + " could not run the call: " + result.message;
    result.what = failure::kind::not_registered;
    return result;
  case frame_kind::bad_call:
    archive(result.message);
    result.message = child + " refused the call: " + result.message;
    result.what = failure::kind::protocol;
    return result;
  case frame_kind::call:
  case frame_kind::crash_signal: // taken by the connection, never a reply
  case frame_kind::output_mark:
  case frame_kind::reply_batch: // split by the connection; a batch never holds another
  case frame_kind::call_batch:
  case frame_kind::hello:
  case frame_kind::control:
  case frame_kind::ready: // taken by the pool, never a reply
    break;
  }
  throw decode_failure("the child sent a message that is not a reply");
}

} // namespace mpdecor::detail
