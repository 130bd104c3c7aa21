// SPDX-License-Identifier: BSL-1.0
// mpdecor: the argument and result types that work out of the box.
//
// Any type cereal can serialize: the standard types below, plain aggregates (structs with
// public fields and no serialization of their own, through Boost.PFR), and user types
// with a cereal `serialize` member or free function (or save/load pairs).
#ifndef MPDECOR_SERIALIZATION_HPP
#define MPDECOR_SERIALIZATION_HPP

#include <mpdecor/detail/wire.hpp>

#include <cereal/types/array.hpp>
#include <cereal/types/atomic.hpp>
#include <cereal/types/bitset.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/complex.hpp>
#include <cereal/types/deque.hpp>
#include <cereal/types/forward_list.hpp>
#include <cereal/types/list.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/memory.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/queue.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/stack.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/valarray.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#endif
