// healthchecks.io's ping API through the real HTTP server: the forms its clients send, and
// overdue heartbeats flagged at their due time, not at the next interval.
#include <catch2/catch.hpp>

#include <csignal>

#include "support/net_fixtures.hpp"
#include "support/process.hpp"
#include "support/running_sidecar.hpp"
#include "support/temp_file.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

RawReply post(std::uint16_t port, const std::string& path, const std::string& body) {
    RawClient client(port);
    client.send("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
    return client.read_response();
}

json detail(const RunningSidecar& sidecar, const std::string& check) {
    return json::parse(get(sidecar.port(), "/health/" + check).body);
}

// Polls /health/<check> until its status is `status`; the seconds it took, or nullopt.
std::optional<double> seconds_until(std::uint16_t port, const std::string& check,
                                    const std::string& status, std::chrono::seconds limit) {
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < limit) {
        const json j = json::parse(get(port, "/health/" + check).body, nullptr, false);
        if (j.is_object() && j.value("status", "") == status)
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("ping API: every form healthchecks.io's clients send, answered OK as text",
          "[heartbeat][ping]") {
    RunningSidecar sidecar(R"({"checks": {
        "backup": {"kind": "heartbeat", "period": "1h", "interval": "100ms",
                   "uuid": "0b8c3a8e-5f4e-4a8e-9d3b-6f1c2a7e9b10"},
        "guarded": {"kind": "heartbeat", "period": "1h", "token": "t0ken", "interval": "100ms"}}})");
    const std::uint16_t port = sidecar.port();
    REQUIRE(sidecar.wait_for_status("backup", Status::ok));

    // Success by GET (a cron line's curl), by uuid, and HEAD.
    RawReply r = get(port, "/ping/backup");
    CHECK(r.status == 200);
    CHECK(r.body == "OK");
    CHECK(r.headers["content-type"].find("text/plain") == 0);
    CHECK(get(port, "/ping/0B8C3A8E-5F4E-4A8E-9D3B-6F1C2A7E9B10").body == "OK");
    CHECK(get(port, "/ping/backup", "", "HEAD").status == 200);

    // /fail with the job's output: the first line is the message, the rest is kept.
    REQUIRE(post(port, "/ping/backup/fail", "disk full\nat /var/backups").body == "OK");
    REQUIRE(sidecar.wait_for_status("backup", Status::fail, 3s));
    json d = detail(sidecar, "backup");
    CHECK(d["message"].get<std::string>().find("disk full") != std::string::npos);
    CHECK(d["message"].get<std::string>().find("/var/backups") == std::string::npos);
    CHECK(d["details"]["last_output"] == "disk full\nat /var/backups");

    // An exit status: 0 is a success, anything else a failure that says which.
    REQUIRE(post(port, "/ping/backup/0", "").status == 200);
    REQUIRE(sidecar.wait_for_status("backup", Status::ok, 3s));
    REQUIRE(post(port, "/ping/backup/2", "tar: Exiting with failure status").status == 200);
    REQUIRE(sidecar.wait_for_status("backup", Status::fail, 3s));
    d = detail(sidecar, "backup");
    CHECK(d["message"].get<std::string>().find("exit status 2: tar: Exiting with failure status") !=
          std::string::npos);
    CHECK(d["details"]["last_exit_status"] == 2);

    // /start and /log change no verdict; /log's message is kept.
    REQUIRE(get(port, "/ping/backup/start?rid=6c1c9a32-1f44-4d5b-b64b-9e1c2d3f4a5b").status == 200);
    REQUIRE(post(port, "/ping/backup/log", "copied 1,024 files").status == 200);
    REQUIRE(sidecar.wait_until([](const Snapshot& s) {
        for (const CheckState& c : s.checks)
            if (c.name == "backup" && c.last &&
                c.last->details.value("last_output", "") == "copied 1,024 files")
                return true;
        return false;
    }));
    CHECK(detail(sidecar, "backup")["status"] == "fail");  // still the exit status 2

    // A body over 10 KB is kept cut, with a marker; the ping still counts.
    const std::string output(11'000, 'o');
    REQUIRE(post(port, "/ping/backup", output).status == 200);
    REQUIRE(sidecar.wait_for_status("backup", Status::ok, 3s));
    const std::string kept = detail(sidecar, "backup")["details"]["last_output"];
    CHECK(kept.size() < output.size());
    CHECK(kept.find("[truncated by vitals]") != std::string::npos);
    // Never in metrics.
    CHECK(get(port, "/metrics").body.find("ooooo") == std::string::npos);
    // The run started with a run id is still open until its own finish arrives.
    CHECK(detail(sidecar, "backup")["observations"]["runs_in_progress"] == 1);
    REQUIRE(get(port, "/ping/backup?rid=6c1c9a32-1f44-4d5b-b64b-9e1c2d3f4a5b").status == 200);
    CHECK(sidecar.wait_until([](const Snapshot& s) {
        for (const CheckState& c : s.checks)
            for (const Observation& o : c.last ? c.last->observations : std::vector<Observation>{})
                if (c.name == "backup" && o.name == "runs_in_progress" && o.value == 0) return true;
        return false;
    }));

    // What is not a ping of a declared heartbeat.
    CHECK(get(port, "/ping/nobody").status == 404);
    CHECK(get(port, "/ping/nobody").body == "not found");
    CHECK(get(port, "/ping/backup/256").status == 404);
    CHECK(get(port, "/ping/backup/oops").status == 404);
    CHECK(get(port, "/ping/backup?rid=not%20a%20uuid").status == 400);
    CHECK(get(port, "/ping/backup", "", "DELETE").status == 405);
    // The token is required wherever a heartbeat has one.
    CHECK(get(port, "/ping/guarded").status == 401);
    CHECK(get(port, "/ping/guarded?token=t0ken").status == 200);
}

TEST_CASE("ping API: an overdue heartbeat is flagged at its due time, not at the next interval",
          "[heartbeat][ping]") {
    // Checked once a minute, due every 2 s: without due-time wakes it would stay ok ~60 s.
    RunningSidecar sidecar(R"({"checks": {
        "tick": {"kind": "heartbeat", "period": "2s", "grace": "0s", "interval": "1m",
                 "jitter": 0}}})");
    REQUIRE(sidecar.wait_for_status("tick", Status::ok));
    REQUIRE(get(sidecar.port(), "/ping/tick").status == 200);
    const auto pinged = std::chrono::steady_clock::now();
    // The ping itself is judged at once (ok); the check then asks to be woken at its due time.
    REQUIRE(sidecar.wait_for_status("tick", Status::fail, 10s));
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - pinged).count();
    INFO("flagged " << took << " s after the ping");
    CHECK(took < 5.0);
}

TEST_CASE("ping API: the vitals binary flags a 2 s period at 2 s + grace, not at the next interval",
          "[heartbeat][ping]") {
    // The shipped binary as a pod runs it, checked once a minute.
    TempFile config(R"({"checks": {
        "tick": {"kind": "heartbeat", "period": "2s", "grace": "1s", "interval": "1m"}}})");
    ChildProcess vitals({"--config", config.path()}, {{"VITALS_LISTEN", "127.0.0.1:0"}});
    const std::uint16_t port = listening_port(vitals);
    REQUIRE(port != 0);
    REQUIRE(get(port, "/ping/tick").status == 200);
    const auto pinged = std::chrono::steady_clock::now();
    REQUIRE(seconds_until(port, "tick", "ok", 5s));
    const auto failed = seconds_until(port, "tick", "fail", 20s);
    REQUIRE(failed);
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - pinged).count();
    INFO("flagged " << took << " s after the ping (due at 3 s)");
    CHECK(took >= 2.9);  // not before the due time
    CHECK(took < 5.0);   // within a second or so of it, 55 s before the next interval
    vitals.signal(SIGTERM);
    CHECK(vitals.wait_exit(2s));
}

TEST_CASE("ping API: a failure ping is judged at once, not at the next interval",
          "[heartbeat][ping]") {
    RunningSidecar sidecar(R"({"checks": {
        "job": {"kind": "heartbeat", "period": "1h", "interval": "1m"}}})");
    REQUIRE(sidecar.wait_for_status("job", Status::ok));
    REQUIRE(post(sidecar.port(), "/ping/job/fail", "disk full").status == 200);
    const auto failed = seconds_until(sidecar.port(), "job", "fail", 10s);
    REQUIRE(failed);
    INFO("failed " << *failed << " s after the ping");
    CHECK(*failed < 3.0);  // the interval is a minute
    CHECK(detail(sidecar, "job")["message"].get<std::string>().find("disk full") !=
          std::string::npos);
    // And the success that follows clears it as quickly.
    REQUIRE(get(sidecar.port(), "/ping/job").status == 200);
    const auto recovered = seconds_until(sidecar.port(), "job", "ok", 10s);
    REQUIRE(recovered);
    CHECK(*recovered < 3.0);
}
