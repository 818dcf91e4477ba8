/* http_form.c -- a pull parser for multipart/form-data over a read
 * function. One fixed buffer: parts read whole are copied to the caller's
 * arena as they end, the streamed part leaves the buffer as fast as the
 * caller takes it, keeping back only what could be the start of the
 * delimiter. Nothing a client sends grows memory past the limits. */
#include "common.h"
#include "http/http_form.h"
#include "util/arena.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#define BUF_CAP (64 * 1024)

struct http_form {
    http_form_read_fn rd;
    void *arg;
    struct http_form_limits lim;
    char delim[4 + HTTP_FORM_MAX_BOUNDARY]; /* "\r\n--" boundary */
    size_t dn;
    size_t start, end; /* unread bytes: buf[start, end) */
    size_t consumed;   /* from rd */
    size_t head;       /* bytes passed before the streamed part's data */
    size_t fields;     /* name and value bytes of the parts read whole */
    size_t parts;
    bool eof, started, closed, in_stream, stream_done;
    char buf[BUF_CAP];
};

/* RFC 2046 bchars, space excepted (it may not end the boundary). */
static bool
bchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("'()+_,-./:=? ", c) != NULL);
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Reads one parameter value at *p (quoted, or a token up to ';'), moving
 * *p past it. Browsers percent-encode a '"' in a file name and send '\'
 * as it is (Windows paths), so a quoted value ends at the next '"' and
 * has no escapes (HTML's form submission algorithm, not RFC 822's
 * quoted-pair). The value points into the input. */
static int
param_value(const char **p, const char *end, struct str *v)
{
    const char *s = *p;

    if (s < end && *s == '"') {
        const char *q = memchr(s + 1, '"', (size_t)(end - s - 1));
        if (q == NULL)
            return -EBADMSG;
        *v = str_make(s + 1, (size_t)(q - s - 1));
        *p = q + 1;
        return 0;
    }
    while (s < end && *s != ';')
        s++;
    *v = str_trim(str_make(*p, (size_t)(s - *p)));
    *p = s;
    return 0;
}

/* Walks "type; a=1; b="2"" calling back for each parameter. The type is
 * returned in *type. */
static int
params(struct str v, struct str *type, int (*cb)(void *arg, struct str name, struct str value),
       void *arg)
{
    const char *p = v.p, *end = v.p + v.n;

    while (p < end && *p != ';')
        p++;
    *type = str_trim(str_make(v.p, (size_t)(p - v.p)));
    while (p < end) {
        struct str name, value;
        const char *n0;
        p++; /* the ';' */
        while (p < end && is_space(*p))
            p++;
        if (p == end)
            break;
        n0 = p;
        while (p < end && *p != '=' && *p != ';')
            p++;
        if (p == end || *p != '=')
            return -EBADMSG;
        name = str_trim(str_make(n0, (size_t)(p - n0)));
        p++;
        while (p < end && is_space(*p))
            p++;
        if (param_value(&p, end, &value) < 0)
            return -EBADMSG;
        while (p < end && is_space(*p))
            p++;
        if (p < end && *p != ';')
            return -EBADMSG;
        if (cb(arg, name, value) < 0)
            return -EBADMSG;
    }
    return 0;
}

static int
boundary_cb(void *arg, struct str name, struct str value)
{
    struct str *b = arg;

    if (str_ieq_c(name, "boundary")) {
        if (b->p != NULL)
            return -1; /* twice */
        *b = value;
    }
    return 0;
}

int
http_form_boundary(struct str content_type, struct str *boundary)
{
    struct str type, b = STR_NULL;

    if (content_type.p == NULL || params(content_type, &type, boundary_cb, &b) < 0)
        return -EINVAL;
    if (!str_ieq_c(type, "multipart/form-data") || b.p == NULL || b.n == 0 ||
        b.n > HTTP_FORM_MAX_BOUNDARY || b.p[b.n - 1] == ' ')
        return -EINVAL;
    for (size_t i = 0; i < b.n; i++)
        if (!bchar((unsigned char)b.p[i]))
            return -EINVAL;
    *boundary = b;
    return 0;
}

struct http_form *
http_form_new(struct str boundary, const struct http_form_limits *lim, http_form_read_fn rd,
              void *arg)
{
    struct http_form *f = xcalloc(1, sizeof(*f));

    ASSERT(boundary.n > 0 && boundary.n <= HTTP_FORM_MAX_BOUNDARY);
    ASSERT(lim->max_head_bytes + sizeof(f->delim) < BUF_CAP);
    f->rd = rd;
    f->arg = arg;
    f->lim = *lim;
    memcpy(f->delim, "\r\n--", 4);
    memcpy(f->delim + 4, boundary.p, boundary.n);
    f->dn = 4 + boundary.n;
    /* The body starts with the first delimiter less its CRLF: put one in
     * front so every delimiter looks the same. */
    memcpy(f->buf, "\r\n", 2);
    f->end = 2;
    return f;
}

void
http_form_free(struct http_form *f)
{
    free(f);
}

size_t
http_form_consumed(const struct http_form *f)
{
    return f->consumed;
}

static void
advance(struct http_form *f, size_t n)
{
    ASSERT(n <= f->end - f->start);
    f->start += n;
    if (!f->in_stream)
        f->head += n;
}

/* More bytes into the buffer: 1, or -EBADMSG at the end of the body, or
 * -EMSGSIZE when what is pending before the streamed part passes its cap. */
static int
more(struct http_form *f)
{
    ssize_t got;

    if (!f->in_stream && f->head + (f->end - f->start) > f->lim.max_head_bytes + f->dn)
        return -EMSGSIZE;
    if (f->eof)
        return -EBADMSG;
    if (f->start > 0) {
        memmove(f->buf, f->buf + f->start, f->end - f->start);
        f->end -= f->start;
        f->start = 0;
    }
    ASSERT(f->end < BUF_CAP);
    got = f->rd(f->arg, f->buf + f->end, BUF_CAP - f->end);
    if (got < 0)
        return (int)got;
    if (got == 0) {
        f->eof = true;
        return -EBADMSG;
    }
    f->end += (size_t)got;
    f->consumed += (size_t)got;
    return 1;
}

static const char *
find(const struct http_form *f, const char *needle, size_t n)
{
    return memmem(f->buf + f->start, f->end - f->start, needle, n);
}

struct dispo {
    struct arena *a;
    struct http_form_part *part;
};

static int
dispo_cb(void *arg, struct str name, struct str value)
{
    struct dispo *d = arg;

    if (str_ieq_c(name, "name")) {
        if (d->part->name.p != NULL)
            return -1;
        d->part->name = arena_str(d->a, value);
    } else if (str_ieq_c(name, "filename")) {
        if (d->part->filename.p != NULL)
            return -1;
        d->part->filename = arena_str(d->a, value);
    }
    return 0;
}

/* One part header line (no CRLF). */
static int
header_line(struct arena *a, struct str line, struct http_form_part *part)
{
    struct str name, value, type;
    const char *colon = memchr(line.p, ':', line.n);
    struct dispo d = {a, part};

    if (colon == NULL || colon == line.p)
        return -EBADMSG;
    name = str_make(line.p, (size_t)(colon - line.p));
    value = str_trim(str_make(colon + 1, line.n - (size_t)(colon + 1 - line.p)));
    if (str_ieq_c(name, "content-disposition")) {
        if (part->name.p != NULL)
            return -EBADMSG; /* two of them */
        if (params(value, &type, dispo_cb, &d) < 0 || !str_ieq_c(type, "form-data") ||
            part->name.p == NULL)
            return -EBADMSG;
    } else if (str_ieq_c(name, "content-type")) {
        part->content_type = arena_str(a, value);
    }
    return 0;
}

int
http_form_next(struct http_form *f, struct arena *a, const char *stream_name,
               struct http_form_part *part)
{
    const char *at;
    int rc;

    ASSERT(!f->in_stream || f->stream_done);
    f->in_stream = false;
    *part = (struct http_form_part){STR_NULL, STR_NULL, STR_NULL, STR_NULL};
    if (f->closed)
        return -ENOENT;
    if (!f->started) {
        /* Skip the preamble up to the first delimiter. */
        while ((at = find(f, f->delim, f->dn)) == NULL) {
            size_t avail = f->end - f->start;
            if (avail >= f->dn)
                advance(f, avail - (f->dn - 1));
            rc = more(f);
            if (rc < 0)
                return rc;
        }
        advance(f, (size_t)(at - (f->buf + f->start)) + f->dn);
        f->started = true;
    }
    /* Right after a delimiter: "--" closes the form, else optional
     * transport padding and CRLF begin a part. */
    for (;;) {
        while (f->end - f->start < 2) {
            rc = more(f);
            if (rc < 0)
                return rc;
        }
        if (!is_space(f->buf[f->start]))
            break;
        advance(f, 1);
    }
    if (memcmp(f->buf + f->start, "--", 2) == 0) {
        f->closed = true;
        return -ENOENT;
    }
    if (memcmp(f->buf + f->start, "\r\n", 2) != 0)
        return -EBADMSG;
    advance(f, 2);
    if (++f->parts > f->lim.max_parts)
        return -EMSGSIZE;
    /* Header lines up to an empty one. */
    for (;;) {
        while ((at = find(f, "\r\n", 2)) == NULL) {
            rc = more(f);
            if (rc < 0)
                return rc;
        }
        struct str line = str_make(f->buf + f->start, (size_t)(at - (f->buf + f->start)));
        if (line.n == 0) {
            advance(f, 2);
            break;
        }
        rc = header_line(a, line, part);
        if (rc < 0)
            return rc;
        advance(f, line.n + 2);
    }
    if (part->name.p == NULL)
        return -EBADMSG;
    if (stream_name != NULL && str_ieq_c(part->name, stream_name)) {
        f->in_stream = true;
        f->stream_done = false;
        return 1;
    }
    /* A value read whole, up to the next delimiter. */
    while ((at = find(f, f->delim, f->dn)) == NULL) {
        if (f->fields + part->name.n + (f->end - f->start) > f->lim.max_field_bytes + f->dn)
            return -EMSGSIZE;
        rc = more(f);
        if (rc < 0)
            return rc;
    }
    size_t vn = (size_t)(at - (f->buf + f->start));
    f->fields += part->name.n + vn;
    if (f->fields > f->lim.max_field_bytes)
        return -EMSGSIZE;
    part->value = arena_str(a, str_make(f->buf + f->start, vn));
    advance(f, vn + f->dn);
    return 0;
}

ssize_t
http_form_read(struct http_form *f, void *p, size_t n)
{
    ASSERT(f->in_stream);
    if (f->stream_done || n == 0)
        return 0;
    for (;;) {
        size_t avail = f->end - f->start, k;
        const char *at = find(f, f->delim, f->dn);
        if (at != NULL) {
            k = (size_t)(at - (f->buf + f->start));
            if (k == 0) {
                advance(f, f->dn);
                f->stream_done = true;
                return 0;
            }
        } else if (avail >= f->dn) {
            k = avail - (f->dn - 1); /* the rest may begin the delimiter */
        } else {
            int rc = more(f);
            if (rc < 0)
                return rc;
            continue;
        }
        if (k > n)
            k = n;
        memcpy(p, f->buf + f->start, k);
        advance(f, k);
        return (ssize_t)k;
    }
}
