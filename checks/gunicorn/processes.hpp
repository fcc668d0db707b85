// Gunicorn's processes, when the pod shares its process namespace (shareProcessNamespace:
// true): is the master alive, and how many workers does it have. Reads only what /proc
// shows every user: each process's command line and parent.
#pragma once

#include <cstdint>
#include <string>

namespace vitals {

struct GunicornProcesses {
    int masters = 0;  // gunicorn processes whose parent is not gunicorn
    int workers = 0;  // live children of the chosen master
    int master_pid = 0;
};

// Finds the Gunicorn master serving `port`: the one whose command line names the port
// (--bind/-b host:port), else the only master there is. masters == 0: none visible.
GunicornProcesses find_gunicorn(std::uint16_t port, const std::string& proc = "/proc");

}  // namespace vitals
