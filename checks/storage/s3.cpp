// storage's S3 backend: a small probe object put, read back and deleted in the bucket, as
// django-storages' S3 storage would, signed with AWS Signature V4 (libcurl's). Three billed
// requests a run: the kind runs once a minute by default.
#include <chrono>
#include <optional>
#include <random>

#include "checks/http_target.hpp"
#include "checks/storage/backends.hpp"
#include "sidecar/text.hpp"

namespace vitals::checks {

namespace {

// S3's error code in an error reply (<Code>NoSuchBucket</Code>), or "".
std::string s3_code(const std::string& body) {
    const auto start = body.find("<Code>");
    const auto end = body.find("</Code>");
    if (start == std::string::npos || end == std::string::npos || end < start) return "";
    return clip_utf8(valid_utf8(body.substr(start + 6, end - start - 6)), 64);
}

class S3Check final : public Check {
  public:
    S3Check(S3Target s3, std::string object) : s3_(std::move(s3)), object_(std::move(object)) {}

    CheckResult run(const Deadline& deadline) override {
        const std::string content =
            "vitals storage probe " + std::to_string(++runs_) + " " + std::to_string(random_());
        const auto started = std::chrono::steady_clock::now();
        CheckResult result;
        std::optional<std::string> problem = step("PUT", content, deadline, {200});
        if (!problem) {
            const Expected<HttpReply> got = request("GET", "", deadline);
            if (!got)
                problem = "GET failed: " + got.error().message;
            else if (got->status != 200)
                problem = explain("GET", *got);
            else if (got->body != content)
                problem = "the object read back differs from what was written";
            // Deleted whatever the read said: nothing is left behind.
            const auto deleted = step("DELETE", "", deadline, {200, 204});
            if (!problem) problem = deleted;
        }
        result.observe(
            "probe_seconds",
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        const std::string where = "s3://" + s3_.bucket + "/" + s3_.prefix;
        Findings findings;
        if (problem) findings.add(Status::fail, where + ": " + *problem);
        findings.conclude(result, where + " takes a put, get and delete");
        return result;
    }

  private:
    Expected<HttpReply> request(const std::string& method, const std::string& body,
                                const Deadline& deadline) const {
        HttpTarget t;
        t.url = s3_.endpoint;
        std::string base = t.url.path;
        while (!base.empty() && base.back() == '/')
            base.pop_back();
        t.url.path = base + "/" + s3_.bucket + "/" + s3_.prefix + object_;
        t.url.query.clear();
        t.method = method;
        t.body = body;
        t.aws_sigv4 = "aws:amz:" + s3_.region + ":s3";
        t.aws_key_id = s3_.key_id;
        t.aws_secret = s3_.secret;
        t.ca_file = s3_.ca_file;
        if (!s3_.session_token.empty())
            t.headers.emplace_back("x-amz-security-token", s3_.session_token);
        return http_get(t, deadline, std::size_t{64} * 1024);
    }

    // What went wrong, or nullopt when `method` answered one of `ok`.
    std::optional<std::string> step(const std::string& method, const std::string& body,
                                    const Deadline& deadline, std::initializer_list<int> ok) const {
        const Expected<HttpReply> reply = request(method, body, deadline);
        if (!reply) return method + " failed: " + reply.error().message;
        for (const int status : ok)
            if (reply->status == status) return std::nullopt;
        return explain(method, *reply);
    }

    std::string explain(const std::string& method, const HttpReply& reply) const {
        const std::string code = s3_code(reply.body);
        std::string text =
            method + " answered " + std::to_string(reply.status) + (code.empty() ? "" : " " + code);
        if (code == "NoSuchBucket") text += ": the bucket " + s3_.bucket + " does not exist";
        if (reply.status == 403)
            text +=
                ": check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the bucket policy "
                "(s3:PutObject, s3:GetObject, s3:DeleteObject on the prefix)";
        return text;
    }

    S3Target s3_;
    std::string object_;
    std::uint64_t runs_ = 0;
    std::mt19937_64 random_{std::random_device{}()};
};

}  // namespace

std::unique_ptr<Check> s3_check(S3Target s3, std::string object) {
    return std::make_unique<S3Check>(std::move(s3), std::move(object));
}

}  // namespace vitals::checks
