/* api_json.c: the JSON objects of a verify report (szarc_json.h). */
#include "szarc_json.h"

#include "quote.h"

const char *szarc_json_verify_state(szarc_verify_member_state s)
{
    return s == SZARC_VERIFY_MEMBER_OK       ? "ok"
           : s == SZARC_VERIFY_MEMBER_FAILED ? "failed"
                                             : "unchecked";
}

json_t *szarc_json_verify_finding(const char *type, const char *check, int warning,
                                  const char *msg, const char *advice)
{
    json_t *j = json_object();
    if (!j)
        return NULL;
    if (type)
        json_object_set_new(j, "type", json_string(type));
    json_object_set_new(j, "check", json_string(check));
    json_object_set_new(j, "status", json_string(warning ? "warning" : "failed"));
    json_object_set_new(j, "message", json_string(""));
    json_object_set_new(j, "advice", json_string(advice));
    szarc_json_set_string(j, "message", msg); /* exact, or with message_hex last */
    return j;
}

json_t *szarc_json_verify_member(const szarc_verify_member *m)
{
    json_t *fs = json_array();
    for (size_t k = 0; fs && k < m->n_findings; k++)
        json_array_append_new(fs, szarc_json_verify_finding(NULL, m->findings[k].check,
                                                            m->findings[k].warning,
                                                            m->findings[k].msg,
                                                            m->findings[k].advice));
    json_t *j = json_pack("{s:s, s:I, s:s, s:s?, s:I, s:s, s:b, s:o}", "type", "member", "index",
                          (json_int_t)m->index, "path", "", "method", m->method, "size",
                          (json_int_t)m->size, "status", szarc_json_verify_state(m->state),
                          "expanded", m->expanded, "findings", fs);
    if (j)
        szarc_json_set_string(j, "path", m->path); /* exact, or with path_hex last */
    return j;
}
