// The static kind against a scripted server standing in for a CDN or bucket: the manifest
// fetched over HTTP, its hashed names sampled in turn.
#include <catch2/catch.hpp>

#include <set>

#include "support/make_check.hpp"
#include "support/net_fixtures.hpp"
#include "support/servers.hpp"

using namespace vitals;
using namespace vitals::testing;
using namespace std::chrono_literals;

TEST_CASE("static: a manifest fetched over HTTP, every hashed name fetched over a few runs",
          "[static]") {
    std::mutex mutex;
    std::set<std::string> asked;
    ScriptedHttpServer cdn([&](const std::string& path) {
        {
            std::lock_guard<std::mutex> lock(mutex);
            asked.insert(path);
        }
        if (path == "/static/staticfiles.json")
            return http_response(200,
                                 R"({"paths": {"css/site.css": "css/site.aaaaaaaaaaaa.css",
                                    "js/app.js": "js/app.bbbbbbbbbbbb.js",
                                    "img/logo.png": "img/logo.cccccccccccc.png",
                                    "css/print.css": "css/print.dddddddddddd.css"}})",
                                 "application/json");
        if (path == "/static/img/logo.cccccccccccc.png") return http_response(404, "gone");
        if (path.find(".js") != std::string::npos)
            return http_response(200, "x", "application/javascript");
        if (path.find(".png") != std::string::npos) return http_response(200, "x", "image/png");
        return http_response(200, "body{}", "text/css");
    });
    const std::string base = "http://127.0.0.1:" + std::to_string(cdn.port()) + "/static/";
    const auto check = make_check("static", {{"url", base + "css/site.css"},
                                             {"manifest", base + "staticfiles.json"},
                                             {"manifest_sample", 2}});
    // Each run: the asset's hashed name and one more, in turn; the missing logo shows within
    // as many runs as the manifest has names.
    bool failed = false;
    for (int run = 0; run < 4; ++run) {
        const CheckResult r = check->run(Deadline::in(2s));
        CHECK(observed(r, "manifest_entries") == 4);
        CHECK(observed(r, "manifest_checked") == 2);
        if (r.status == Status::fail) {
            failed = true;
            CHECK(r.message.find("/static/img/logo.cccccccccccc.png (in the manifest for "
                                 "img/logo.png) answered 404") == 0);
        }
    }
    CHECK(failed);
    {
        std::lock_guard<std::mutex> lock(mutex);
        CHECK(asked.count("/static/css/site.aaaaaaaaaaaa.css") == 1);
        CHECK(asked.count("/static/js/app.bbbbbbbbbbbb.js") == 1);
    }
    // Not a manifest at all, or a relative path: said so.
    const CheckResult wrong =
        make_check("static", {{"url", base + "css/site.css"}, {"manifest", base + "css/site.css"}})
            ->run(Deadline::in(2s));
    INFO(wrong.message);
    CHECK(wrong.status == Status::fail);
    CHECK(wrong.message.find("is not Django's staticfiles.json") != std::string::npos);
    // A manifest file over the limit is refused without being read whole.
    const std::string big = make_temp_dir("manifest") + "/staticfiles.json";
    REQUIRE(shell("head -c 9000000 /dev/zero > '" + big + "'") == 0);
    const CheckResult huge =
        make_check("static", {{"url", base + "css/site.css"}, {"manifest", big}})
            ->run(Deadline::in(2s));
    CHECK(huge.status == Status::fail);
    CHECK(huge.message.find("is over 8 MiB") != std::string::npos);
    shell("rm -rf \"$(dirname '" + big + "')\"");
    // Names that are not plain relative paths are never put into a URL.
    ScriptedHttpServer odd([&](const std::string& path) {
        if (path == "/static/staticfiles.json")
            return http_response(200,
                                 R"({"paths": {"css/site.css": "css/site.aaaaaaaaaaaa.css",
                                    "a.css": "../../admin/secret", "b.css": "x.css?y=1"}})",
                                 "application/json");
        return http_response(200, "body{}", "text/css");
    });
    const std::string odd_base = "http://127.0.0.1:" + std::to_string(odd.port()) + "/static/";
    const CheckResult skipped = make_check("static", {{"url", odd_base + "css/site.css"},
                                                      {"manifest", odd_base + "staticfiles.json"},
                                                      {"manifest_sample", 3}})
                                    ->run(Deadline::in(2s));
    INFO(skipped.message << " " << skipped.details.dump());
    CHECK(skipped.status == Status::warn);
    CHECK(skipped.message.find("not a plain path") != std::string::npos);
    CHECK(odd.requests() == 3);  // the asset, the manifest, the asset's hashed name
    CHECK_THROWS_WITH(make_check("static", {{"url", base + "x.css"}, {"manifest", "m.json"}}),
                      Catch::Contains("absolute path"));
}
