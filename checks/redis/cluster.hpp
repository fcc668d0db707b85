// Redis Cluster, for the redis check's round trip: a key is served by the node that owns its
// slot, so on a cluster the check writes a key whose slot the node it connected to owns.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vitals::checks {

// The key's slot as Redis Cluster computes it: CRC16 (XMODEM) of the key, or of the text
// of its first non-empty {hash tag}, modulo 16384.
int key_slot(std::string_view key);

using SlotRange = std::pair<int, int>;  // first and last slot, both included

// `base` with a hash tag ("base{17}") whose slot lies in `owned`; nullopt when it is empty.
std::optional<std::string> key_in_slots(const std::string& base,
                                        const std::vector<SlotRange>& owned);

// True for an error reply that says the key lives on another node (MOVED or ASK).
bool is_redirect(std::string_view error);

}  // namespace vitals::checks
