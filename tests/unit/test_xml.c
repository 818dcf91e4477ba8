/* test_xml.c -- xml_write escaping and framing, xml_read parsing and its
 * defences (DOCTYPE, depth, node count), and the round trip between them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "util/arena.h"
#include "util/buf.h"
#include "xml/xml_read.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <string.h>

#define S3NS "http://s3.amazonaws.com/doc/2006-03-01/"

static void
assert_str(struct str s, const char *want)
{
    assert_non_null(s.p);
    assert_int_equal(s.n, strlen(want));
    assert_memory_equal(s.p, want, s.n);
}

static int
parse_c(struct arena *a, const char *body, struct xml_node **root)
{
    return xml_parse(a, str_c(body), root);
}

/* ---- writer ------------------------------------------------------------ */

static void
test_escape_vectors(void **state)
{
    static const struct {
        const char *in;
        size_t n;
        const char *out;
    } v[] = {
        {"plain key.txt", 13, "plain key.txt"},
        {"a&b<c>d\"e'f", 11, "a&amp;b&lt;c&gt;d&quot;e&apos;f"},
        {"&amp;", 5, "&amp;amp;"},
        {"]]>", 3, "]]&gt;"},
        {"\x01\x08\t\n\r\x0b\x1f\x7f", 8, "&#x1;&#x8;\t\n&#xD;&#xB;&#x1F;&#x7F;"},
        {"a\0b", 3, "a&#x0;b"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
         "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"\xef\xbf\xbe|\xef\xbf\xbf|\xef\xbf\xbd", 11, "&#xFFFE;|&#xFFFF;|\xef\xbf\xbd"},
        {"x\xef\xbf\xbf", 3, "x\xef\xbf"}, /* cut by n: copied, not read past */
        {"", 0, ""},
    };
    struct buf b;

    (void)state;
    buf_init(&b, 4096);
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        buf_reset(&b);
        assert_int_equal(xml_escape(&b, str_make(v[i].in, v[i].n)), 0);
        assert_str(buf_str(&b), v[i].out);
    }
    buf_free(&b);
}

static void
test_write_document(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 4096);
    assert_int_equal(xml_decl(&b), 0);
    assert_int_equal(xml_open_ns(&b, "ListBucketResult", S3NS), 0);
    assert_int_equal(xml_elem_c(&b, "Name", "bkt"), 0);
    assert_int_equal(xml_elem(&b, "Prefix", STR_NULL), 0);
    assert_int_equal(xml_elem_c(&b, "Marker", NULL), 0);
    assert_int_equal(xml_elem_i64(&b, "MaxKeys", 1000), 0);
    assert_int_equal(xml_elem_i64(&b, "Neg", -9223372036854775807LL - 1), 0);
    assert_int_equal(xml_elem_bool(&b, "IsTruncated", false), 0);
    assert_int_equal(xml_elem_bool(&b, "T", true), 0);
    assert_int_equal(xml_open(&b, "Contents"), 0);
    assert_int_equal(xml_elem(&b, "Key", STR_LIT("a<b>&\x01")), 0);
    assert_int_equal(xml_elem_c(&b, "ETag", "\"9b2cf535f27731c974343645a3985328\""), 0);
    assert_int_equal(xml_close(&b, "Contents"), 0);
    assert_int_equal(xml_empty(&b, "Owner"), 0);
    assert_int_equal(xml_close(&b, "ListBucketResult"), 0);
    assert_str(buf_str(&b),
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
               "<Name>bkt</Name><Prefix></Prefix><Marker></Marker><MaxKeys>1000</MaxKeys>"
               "<Neg>-9223372036854775808</Neg>"
               "<IsTruncated>false</IsTruncated><T>true</T>"
               "<Contents><Key>a&lt;b&gt;&amp;&#x1;</Key>"
               "<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag></Contents>"
               "<Owner/></ListBucketResult>");
    buf_free(&b);
}

static void
test_write_e2big_rolls_back(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 21);
    assert_int_equal(xml_open(&b, "Root"), 0); /* 6 bytes */
    /* "<Key>" fits, the escaped text does not: nothing of it may stay. */
    assert_int_equal(xml_elem_c(&b, "Key", "&&&"), -E2BIG);
    assert_str(buf_str(&b), "<Root>");
    assert_int_equal(xml_elem_c(&b, "K", "a&b"), 0); /* 14 bytes: 20 total */
    assert_int_equal(xml_close(&b, "Root"), -E2BIG);
    assert_int_equal(xml_open_ns(&b, "X", "y"), -E2BIG);
    assert_int_equal(xml_elem_i64(&b, "N", 5), -E2BIG);
    assert_int_equal(xml_elem_bool(&b, "B", true), -E2BIG);
    assert_int_equal(xml_empty(&b, "E"), -E2BIG);
    assert_int_equal(xml_decl(&b), -E2BIG);
    assert_str(buf_str(&b), "<Root><K>a&amp;b</K>");
    assert_int_equal(xml_escape(&b, STR_LIT("z")), 0);
    assert_int_equal(xml_escape(&b, STR_LIT("z")), -E2BIG);
    assert_str(buf_str(&b), "<Root><K>a&amp;b</K>z");
    buf_free(&b);
}

/* ---- reader ------------------------------------------------------------ */

static void
test_parse_namespaced_and_not(void **state)
{
    static const char *docs[] = {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<VersioningConfiguration xmlns=\"" S3NS "\">\n"
        "  <Status>Enabled</Status>\n  <MFADelete>Disabled</MFADelete>\n"
        "</VersioningConfiguration>\n",
        "<VersioningConfiguration><Status>Enabled</Status>"
        "<MFADelete>Disabled</MFADelete></VersioningConfiguration>",
        "<s3:VersioningConfiguration xmlns:s3=\"" S3NS "\"><s3:Status>Enabled</s3:Status>"
        "<s3:MFADelete>Disabled</s3:MFADelete></s3:VersioningConfiguration>",
        "<VersioningConfiguration xmlns=\"urn:other\"><Status>Enabled</Status>"
        "<MFADelete>Disabled</MFADelete></VersioningConfiguration>",
    };
    struct arena *a = arena_new();
    struct xml_node *root, *st, *mfa;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(docs); i++) {
        root = NULL;
        assert_int_equal(parse_c(a, docs[i], &root), 0);
        assert_non_null(root);
        assert_str(root->name, "VersioningConfiguration");
        assert_null(root->parent);
        assert_int_equal(root->n_children, 2);
        st = xml_child(root, "Status");
        assert_non_null(st);
        assert_str(st->text, "Enabled");
        assert_ptr_equal(st->parent, root);
        assert_int_equal(st->n_children, 0);
        assert_null(st->child);
        mfa = xml_child(root, "MFADelete");
        assert_non_null(mfa);
        assert_str(mfa->text, "Disabled");
        /* Case matters. */
        assert_null(xml_child(root, "MfaDelete"));
        assert_null(xml_child(root, "status"));
        assert_null(xml_next(st, "Status"));
        assert_ptr_equal(xml_next(st, "MFADelete"), mfa);
    }
    assert_null(xml_child(NULL, "x"));
    assert_null(xml_next(NULL, "x"));
    arena_free(a);
}

static void
test_parse_text_fragments(void **state)
{
    /* Expat hands character data over in pieces (around references, CDATA,
     * comments, newlines); text must come out whole and in order. */
    static const char doc[] =
        "<Delete><Quiet>true</Quiet>"
        "<Object><Key>a&amp;b&lt;&gt;&quot;&apos;&#x41;&#66;\n"
        "line2<![CDATA[<raw>&amp;]]><!-- c -->end&#xE9;&#x1F600;</Key></Object>"
        "<Object><Key>  two  </Key><VersionId>v2</VersionId></Object>"
        "<Object><Key></Key></Object>"
        "x<Object/>y</Delete>";
    struct arena *a = arena_new();
    struct xml_node *root, *o, *k;
    size_t n = 0;

    (void)state;
    assert_int_equal(parse_c(a, doc, &root), 0);
    assert_int_equal(root->n_children, 5);
    assert_str(root->text, "xy");
    assert_str(xml_child(root, "Quiet")->text, "true");
    o = xml_child(root, "Object");
    assert_non_null(o);
    k = xml_child(o, "Key");
    assert_str(k->text, "a&b<>\"'AB\nline2<raw>&amp;end\xc3\xa9\xf0\x9f\x98\x80");
    assert_null(xml_child(o, "VersionId"));
    o = xml_next(o, "Object");
    assert_str(xml_child(o, "Key")->text, "  two  ");
    assert_str(xml_child(o, "VersionId")->text, "v2");
    o = xml_next(o, "Object");
    assert_str(xml_child(o, "Key")->text, "");
    o = xml_next(o, "Object");
    assert_non_null(o);
    assert_str(o->text, "");
    assert_null(o->child);
    assert_null(xml_next(o, "Object"));
    for (o = xml_child(root, "Object"); o != NULL; o = xml_next(o, "Object"))
        n++;
    assert_int_equal(n, 4);
    arena_free(a);
}

static void
test_round_trip(void **state)
{
    static const char *keys[] = {
        "simple", "a&b<c>d\"e'f", "tab\tnl\ncr\r", "caf\xc3\xa9/\xe2\x82\xac", "]]>", "",
    };
    struct arena *a = arena_new();
    struct xml_node *root, *k;
    struct buf b;
    size_t i = 0;

    (void)state;
    buf_init(&b, 4096);
    assert_int_equal(xml_decl(&b), 0);
    assert_int_equal(xml_open_ns(&b, "Delete", S3NS), 0);
    for (i = 0; i < ARRAY_LEN(keys); i++) {
        assert_int_equal(xml_open(&b, "Object"), 0);
        assert_int_equal(xml_elem_c(&b, "Key", keys[i]), 0);
        assert_int_equal(xml_close(&b, "Object"), 0);
    }
    assert_int_equal(xml_elem_bool(&b, "Quiet", true), 0);
    assert_int_equal(xml_close(&b, "Delete"), 0);

    assert_int_equal(xml_parse(a, buf_str(&b), &root), 0);
    assert_str(root->name, "Delete");
    assert_int_equal(root->n_children, ARRAY_LEN(keys) + 1);
    assert_str(xml_child(root, "Quiet")->text, "true");
    i = 0;
    for (k = xml_child(root, "Object"); k != NULL; k = xml_next(k, "Object"))
        assert_str(xml_child(k, "Key")->text, keys[i++]);
    assert_int_equal(i, ARRAY_LEN(keys));

    /* Forbidden XML 1.0 characters are written as references S3-style, and
     * a strict XML 1.0 parser refuses them: documented, not a round trip. */
    buf_reset(&b);
    assert_int_equal(xml_elem_c(&b, "Key", "\x01"), 0);
    assert_str(buf_str(&b), "<Key>&#x1;</Key>");
    assert_int_equal(xml_parse(a, buf_str(&b), &root), -EINVAL);
    buf_free(&b);
    arena_free(a);
}

static void
test_parse_malformed(void **state)
{
    static const char *bad[] = {
        "",
        "   ",
        "not xml",
        "<a>",
        "<a><b></a>",
        "<a></b>",
        "<a/><b/>",
        "<a></a><a></a>",
        "<a></a>trailing",
        "<a>&undefined;</a>",
        "<a>&#x1;</a>",
        "<a>&#0;</a>",
        "<a>\x01</a>",
        "<p:a/>",               /* unbound prefix */
        "<a x=\"1\" x=\"2\"/>", /* duplicate attribute */
        "<a>\xff\xfe</a>",      /* not UTF-8 */
        "<?xml version=\"1.0\"?><?xml version=\"1.0\"?><a/>",
        /* DOCTYPE in every shape, billion laughs first. */
        "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
        " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
        " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
        " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
        " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
        " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
        " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
        " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
        " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
        "]>\n<lolz>&lol9;</lolz>",
        "<!DOCTYPE a><a/>",
        "<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>",
        "<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>",
        "<!DOCTYPE a [<!ENTITY % p SYSTEM \"http://127.0.0.1/x.dtd\"> %p;]><a/>",
    };
    struct arena *a = arena_new();
    struct xml_node *root, *sentinel = (struct xml_node *)&root;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        root = sentinel;
        if (parse_c(a, bad[i], &root) != -EINVAL)
            fail_msg("accepted bad[%zu]: %s", i, bad[i]);
        assert_ptr_equal(root, sentinel); /* untouched on error */
    }
    /* Explicit lengths: an embedded NUL and a body cut short. */
    assert_int_equal(xml_parse(a, str_make("<a>\0</a>", 8), &root), -EINVAL);
    assert_int_equal(xml_parse(a, str_make("<a></a>", 5), &root), -EINVAL);
    assert_int_equal(xml_parse(a, STR_NULL, &root), -EINVAL);
    /* Comments, PIs and whitespace around the root are fine. */
    assert_int_equal(parse_c(a, "<!-- c --><?pi x?>\n<a x='1'/>\n<!-- d -->\n", &root), 0);
    assert_str(root->name, "a");
    arena_free(a);
}

static void
test_parse_depth(void **state)
{
    struct arena *a = arena_new();
    struct xml_node *root, *n;
    struct buf b;
    int depth;

    (void)state;
    buf_init(&b, 4096);
    for (int d = XML_MAX_DEPTH; d <= XML_MAX_DEPTH + 1; d++) {
        buf_reset(&b);
        for (int i = 0; i < d; i++)
            assert_int_equal(xml_open(&b, "n"), 0);
        assert_int_equal(xml_escape(&b, STR_LIT("leaf")), 0);
        for (int i = 0; i < d; i++)
            assert_int_equal(xml_close(&b, "n"), 0);
        if (d > XML_MAX_DEPTH) {
            assert_int_equal(xml_parse(a, buf_str(&b), &root), -EINVAL);
            continue;
        }
        assert_int_equal(xml_parse(a, buf_str(&b), &root), 0);
        depth = 1;
        for (n = root; n->child != NULL; n = n->child)
            depth++;
        assert_int_equal(depth, XML_MAX_DEPTH);
        assert_str(n->text, "leaf");
    }
    buf_free(&b);
    arena_free(a);
}

static void
test_parse_node_cap(void **state)
{
    struct arena *a = arena_new();
    struct xml_node *root;
    struct buf b;

    (void)state;
    buf_init(&b, 1 << 20);
    /* The root plus XML_MAX_NODES - 1 children is exactly the cap. */
    assert_int_equal(xml_open(&b, "r"), 0);
    for (int i = 0; i < XML_MAX_NODES - 1; i++)
        assert_int_equal(xml_empty(&b, "e"), 0);
    assert_int_equal(xml_close(&b, "r"), 0);
    assert_int_equal(xml_parse(a, buf_str(&b), &root), 0);
    assert_int_equal(root->n_children, XML_MAX_NODES - 1);

    buf_reset(&b);
    assert_int_equal(xml_open(&b, "r"), 0);
    for (int i = 0; i < XML_MAX_NODES; i++)
        assert_int_equal(xml_empty(&b, "e"), 0);
    assert_int_equal(xml_close(&b, "r"), 0);
    assert_int_equal(xml_parse(a, buf_str(&b), &root), -EINVAL);
    buf_free(&b);
    arena_free(a);
}

/* xml_write_tree(): the canonical form of a parsed document, and its roll
 * back when the buffer is too small. */
static void
test_write_tree(void **state)
{
    (void)state;
    struct arena *a = arena_new();
    struct xml_node *root;
    struct buf b;
    const char *doc = "<?xml version=\"1.0\"?>\n<a:Conf xmlns:a=\"urn:x\">\n  <Rule>\n"
                      "    <ID>one &amp; <![CDATA[<two>]]></ID>\n    <Empty/>\n  </Rule>\n"
                      "  <Rule><ID>3</ID></Rule>\n</a:Conf>\n";
    const char *want = "<Conf xmlns=\"urn:y\"><Rule><ID>one &amp; &lt;two&gt;</ID><Empty></Empty>"
                       "</Rule><Rule><ID>3</ID></Rule></Conf>";

    assert_int_equal(xml_parse(a, str_c(doc), &root), 0);
    buf_init(&b, 4096);
    assert_int_equal(xml_write_tree(&b, root, "urn:y"), 0);
    assert_int_equal(b.n, strlen(want));
    assert_memory_equal(b.p, want, b.n);
    buf_free(&b);
    buf_init(&b, strlen(want) - 1);
    assert_int_equal(buf_append(&b, "x", 1), 0);
    assert_int_equal(xml_write_tree(&b, root, "urn:y"), -E2BIG);
    assert_int_equal(b.n, 1);
    buf_free(&b);
    arena_free(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_vectors),
        cmocka_unit_test(test_write_document),
        cmocka_unit_test(test_write_e2big_rolls_back),
        cmocka_unit_test(test_parse_namespaced_and_not),
        cmocka_unit_test(test_parse_text_fragments),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_parse_depth),
        cmocka_unit_test(test_parse_node_cap),
        cmocka_unit_test(test_write_tree),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
