/*
 * test_server_request.c - JSON request bodies: the 400 messages (malformed,
 * not an object, missing and mistyped fields, each naming the field) and
 * what LiveTalking's clients send (integer session ids, 0/1 and "true").
 */
#include <string.h>

#include "check.h"
#include "server/request.h"

static ls_json *parse_ok(const char *body)
{
    ls_json *j = NULL;
    ls_error err;
    CHECK(ls_request_parse(body, strlen(body), &j, &err) == 0, "'%s': %s", body, err.msg);
    return j;
}

static void parse_fails(const char *body, const char *message_part)
{
    ls_json *j = NULL;
    ls_error err = { 0 };
    int rc = ls_request_parse(body, strlen(body), &j, &err);
    printf("%-24s -> %s\n", body, err.msg);
    CHECK(rc < 0 && !j && strstr(err.msg, message_part), "'%s': '%s'", body, err.msg);
}

int main(void)
{
    parse_fails("", "empty body");
    parse_fails("{\"a\": ", "malformed JSON");
    parse_fails("[1, 2]", "must be a JSON object");
    parse_fails("\"text\"", "must be a JSON object");

    ls_json *j = parse_ok("{\"sessionid\": 123456, \"text\": \"hi\", \"interrupt\": 1, \"flag\": \"true\","
                          " \"n\": 2.5, \"type\": 7, \"none\": null}");
    ls_error err = { 0 };
    char id[LS_REQUEST_ID_MAX];
    const char *s;
    int64_t n;
    int b;
    CHECK(ls_request_session_id(j, id, &err) == 1 && strcmp(id, "123456") == 0, "integer session id: %s", id);
    CHECK(ls_request_string(j, "text", 1, &s, &err) == 1 && strcmp(s, "hi") == 0, "text");
    CHECK(ls_request_bool(j, "interrupt", &b, &err) == 1 && b == 1, "interrupt: 1");
    CHECK(ls_request_bool(j, "flag", &b, &err) == 1 && b == 1, "flag: \"true\"");
    CHECK(ls_request_bool(j, "absent", &b, &err) == 0, "absent bool");
    CHECK(ls_request_string(j, "none", 0, &s, &err) == 0, "null counts as absent");
    CHECK(ls_request_string(j, "missing", 1, &s, &err) < 0 && strcmp(err.msg, "missing field 'missing'") == 0,
          "missing: %s", err.msg);
    CHECK(ls_request_string(j, "type", 1, &s, &err) < 0 && strstr(err.msg, "field 'type' must be a string"),
          "type: %s", err.msg);
    CHECK(ls_request_int(j, "n", 1, &n, &err) < 0 && strstr(err.msg, "'n' must be an integer"), "n: %s", err.msg);
    CHECK(ls_request_bool(j, "text", &b, &err) < 0 && strstr(err.msg, "'text' must be true or false"), "%s",
          err.msg);
    ls_json_free(j);

    j = parse_ok("{\"sessionid\": \"0123abcd\"}");
    CHECK(ls_request_session_id(j, id, &err) == 1 && strcmp(id, "0123abcd") == 0, "string session id");
    ls_json_free(j);
    j = parse_ok("{\"text\": \"x\"}");
    CHECK(ls_request_session_id(j, id, &err) < 0 && strcmp(err.msg, "missing field 'sessionid'") == 0, "%s",
          err.msg);
    ls_json_free(j);
    j = parse_ok("{\"sessionid\": [1]}");
    CHECK(ls_request_session_id(j, id, &err) < 0 && strstr(err.msg, "string or an integer"), "%s", err.msg);
    ls_json_free(j);
    j = parse_ok("{\"sessionid\": \"\"}");
    CHECK(ls_request_session_id(j, id, &err) < 0, "empty session id");
    ls_json_free(j);
    return check_result("test_server_request");
}
