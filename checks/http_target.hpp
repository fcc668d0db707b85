// What every check that fetches over HTTP (http, static, gunicorn) lets a user say about the
// request: headers, redirects, a Unix socket, an internal CA. Declared once here; each kind
// appends them to its own table and builds its HttpTarget through them.
#pragma once

#include "sidecar/clients/http_client.hpp"
#include "sidecar/core/registry.hpp"

namespace vitals::checks {

struct HttpTargetSettings {
    Setting headers =
        Setting::of("headers", SettingType::string_map,
                    "request headers, e.g. {\"X-Forwarded-Proto\": \"https\"} for an app with "
                    "SECURE_SSL_REDIRECT")
            .secret();
    Setting follow_redirects = Setting::of("follow_redirects", SettingType::boolean,
                                           "follow redirects (to http:// and https:// only)")
                                   .defaults(false);
    Setting max_redirects =
        Setting::of("max_redirects", SettingType::integer, "redirects followed at most")
            .defaults(5)
            .range(1, 20);
    Setting unix_socket = Setting::of(
        "unix_socket", SettingType::string,
        "connect to this Unix socket (Gunicorn --bind unix:...) instead of the URL's host");
    Setting ca_file =
        Setting::of("ca_file", SettingType::string,
                    "CA bundle (PEM) that https:// certificates are verified against");
    Setting insecure =
        Setting::of("insecure", SettingType::boolean, "do not verify https:// certificates at all")
            .defaults(false);

    // These settings after `table`'s own.
    SettingsTable with(SettingsTable table) const;
    // The request for `url` (http:// or https://, else SettingError on `url_key`) with the
    // Host header `host` (may be empty), as the settings in `params` describe it.
    HttpTarget target(const Params& params, const Url& url, const std::string& url_key,
                      const std::string& host) const;
};

const HttpTargetSettings& http_target_settings();

// The observations every HTTP-fetching kind shares beside its own: connect_seconds,
// tls_seconds, first_byte_seconds, redirects (and, when a redirect was followed, where the
// answer came from in details["final_url"]). Declared by add_timing_observations().
void observe_timings(CheckResult& result, const HttpExchange& exchange);
void add_timing_observations(ObservationTable& table);

}  // namespace vitals::checks
