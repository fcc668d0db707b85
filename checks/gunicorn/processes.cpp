#include "checks/gunicorn/processes.hpp"

#include <dirent.h>

#include <fstream>
#include <map>
#include <sstream>
#include <vector>

namespace vitals {

namespace {

struct Process {
    int ppid = 0;
    char state = '?';
    std::string cmdline;  // NULs replaced by spaces
};

bool read_process(const std::string& dir, Process* p) {
    std::ifstream stat(dir + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return false;
    // pid (comm) state ppid ...; comm may hold spaces and parentheses: split at the last ')'.
    const auto close = line.rfind(')');
    if (close == std::string::npos || close + 4 > line.size()) return false;
    std::istringstream rest(line.substr(close + 2));
    if (!(rest >> p->state >> p->ppid)) return false;
    std::ifstream cmd(dir + "/cmdline", std::ios::binary);
    std::stringstream text;
    text << cmd.rdbuf();
    p->cmdline = text.str();
    for (char& c : p->cmdline) {
        if (c == '\0') c = ' ';
    }
    return true;
}

bool is_gunicorn(const Process& p) {
    return p.state != 'Z' && p.state != 'X' && p.cmdline.find("gunicorn") != std::string::npos;
}

}  // namespace

GunicornProcesses find_gunicorn(std::uint16_t port, const std::string& proc) {
    std::map<int, Process> gunicorns;
    if (DIR* d = ::opendir(proc.c_str())) {
        while (dirent* e = ::readdir(d)) {
            const std::string name = e->d_name;
            if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
            Process p;
            if (!read_process(proc + "/" + name, &p)) continue;
            const int pid = std::stoi(name);
            if (is_gunicorn(p)) gunicorns[pid] = p;
        }
        ::closedir(d);
    }
    std::vector<int> masters;
    for (const auto& [pid, p] : gunicorns) {
        if (gunicorns.count(p.ppid) == 0) masters.push_back(pid);
    }
    GunicornProcesses out;
    out.masters = static_cast<int>(masters.size());
    const std::string bind = ":" + std::to_string(port) + " ";
    for (int pid : masters) {
        if ((gunicorns[pid].cmdline + " ").find(bind) != std::string::npos) out.master_pid = pid;
    }
    if (out.master_pid == 0 && masters.size() == 1) out.master_pid = masters[0];
    for (const auto& [pid, p] : gunicorns) {
        if (out.master_pid != 0 && p.ppid == out.master_pid) ++out.workers;
    }
    return out;
}

}  // namespace vitals
