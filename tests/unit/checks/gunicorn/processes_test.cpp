#include <catch2/catch.hpp>

#include <fstream>

#include "checks/gunicorn/processes.hpp"
#include "support/servers.hpp"

using vitals::find_gunicorn;

namespace {

// A /proc made of files: one directory per process with stat and cmdline.
class FakeProc {
  public:
    FakeProc() {
        char pattern[] = "/tmp/vitals-proc-XXXXXX";
        root_ = ::mkdtemp(pattern);
    }
    ~FakeProc() { vitals::testing::shell("rm -rf '" + root_ + "'"); }
    void add(int pid, int ppid, const std::string& comm, char state,
             const std::vector<std::string>& argv) {
        const std::string dir = root_ + "/" + std::to_string(pid);
        vitals::testing::shell("mkdir -p '" + dir + "'");
        std::ofstream(dir + "/stat")
            << pid << " (" << comm << ") " << state << " " << ppid << " 1 1 0 -1\n";
        std::ofstream cmd(dir + "/cmdline", std::ios::binary);
        for (const auto& a : argv)
            cmd << a << '\0';
    }
    const std::string& root() const { return root_; }

  private:
    std::string root_;
};

}  // namespace

TEST_CASE("the Gunicorn master serving a port and its live workers are found", "[processes]") {
    FakeProc proc;
    proc.add(1, 0, "sh", 'S', {"/bin/sh", "-c", "start"});
    proc.add(10, 1, "python3", 'S',
             {"/usr/bin/python3", "-m", "gunicorn", "-b", "0.0.0.0:8000", "shop.wsgi"});
    proc.add(11, 10, "python3", 'S',
             {"/usr/bin/python3", "-m", "gunicorn", "-b", "0.0.0.0:8000", "shop.wsgi"});
    proc.add(12, 10, "python3", 'R',
             {"/usr/bin/python3", "-m", "gunicorn", "-b", "0.0.0.0:8000", "shop.wsgi"});
    proc.add(13, 10, "python3", 'Z', {});  // a dead worker not yet reaped
    proc.add(20, 1, "gunicorn", 'S', {"gunicorn", "--bind", "127.0.0.1:9000", "other.wsgi"});
    proc.add(21, 20, "gunicorn", 'S', {"gunicorn", "--bind", "127.0.0.1:9000", "other.wsgi"});
    proc.add(30, 1, "celery", 'S', {"celery", "worker"});
    const auto found = find_gunicorn(8000, proc.root());
    CHECK(found.masters == 2);
    CHECK(found.master_pid == 10);
    CHECK(found.workers == 2);
    CHECK(find_gunicorn(9000, proc.root()).workers == 1);
}

TEST_CASE("one master without a port on its command line is taken, none visible is zero",
          "[processes]") {
    FakeProc proc;
    proc.add(5, 1, "gunicorn: master", 'S', {"gunicorn", "-c", "gunicorn.conf.py", "shop.wsgi"});
    proc.add(6, 5, "gunicorn: worker", 'S', {"gunicorn", "-c", "gunicorn.conf.py", "shop.wsgi"});
    CHECK(find_gunicorn(8000, proc.root()).workers == 1);
    FakeProc empty;
    CHECK(find_gunicorn(8000, empty.root()).masters == 0);
    CHECK(find_gunicorn(8000, "/nonexistent").masters == 0);
}

TEST_CASE("malformed stat files are skipped", "[processes]") {
    FakeProc proc;
    proc.add(5, 1, "gunicorn", 'S', {"gunicorn", "-b", ":8000"});
    vitals::testing::shell("mkdir -p '" + proc.root() + "/7' && echo 'garbage' > '" + proc.root() +
                           "/7/stat'");
    CHECK(find_gunicorn(8000, proc.root()).master_pid == 5);
}
