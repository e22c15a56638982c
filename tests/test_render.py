"""The one quoting filter for identifiers, the literal filter, and strict templates."""
import pytest

from pgrename.render import RenderError, ident, literal, oneline, render, statements


@pytest.mark.parametrize("name, quoted", [
    ("users", '"users"'),
    ("User", '"User"'),
    ('say "hi"', '"say ""hi"""'),
    ("select", '"select"'),
    ("ünïcødé", '"ünïcødé"'),
])
def test_ident_always_quotes_and_doubles_quotes(name, quoted):
    assert ident(name) == quoted


@pytest.mark.parametrize("bad", ["", "a\x00b", None])
def test_ident_refuses_what_postgres_cannot_name(bad):
    with pytest.raises(RenderError):
        ident(bad)


def test_literal():
    assert literal("it's") == "'it''s'"
    assert literal(None) == "NULL"
    assert literal(42) == "42"
    with pytest.raises(RenderError):
        literal("a\x00")


def test_oneline_keeps_a_name_inside_its_comment():
    assert "\n" not in oneline('"evil\nDROP TABLE x; --"')


def test_undefined_template_variable_is_an_error():
    with pytest.raises(RenderError, match="undefined"):
        render("sql/010_rename_tables.sql.j2", {})


def test_statements_split_keeps_dollar_quoted_bodies_whole():
    sql = "-- why\nSELECT 1;\nDO $x$ BEGIN PERFORM 1; PERFORM 2; END $x$;\n-- trailing comment only\n"
    assert [s.splitlines()[-1] for s in statements(sql)] == ["SELECT 1;", "DO $x$ BEGIN PERFORM 1; PERFORM 2; END $x$;"]


def test_format_upper_cases_keywords_but_not_names_or_bodies():
    from pgrename.render import format_sql
    sql = "select source_table from pgrename.renamed_object;\nDO $x$ begin perform 1; end $x$;\n\n\n\n"
    assert format_sql(sql) == "SELECT source_table FROM pgrename.renamed_object;\nDO $x$ begin perform 1; end $x$;\n"


def test_names_sqlparse_takes_for_keywords_keep_their_case():
    from pgrename.render import format_sql
    sql = "insert into pgrename.added_object (kind, table_name) values ('x', 'y') on conflict do nothing;\n"
    assert format_sql(sql) == ("INSERT INTO pgrename.added_object (kind, table_name) VALUES ('x', 'y') "
                               "ON CONFLICT DO NOTHING;\n")


def test_the_keyword_list_is_postgresqls(empty_db):
    from pgrename.render import POSTGRES_KEYWORDS
    assert set(empty_db.scalar("SELECT array_agg(upper(word)) FROM pg_get_keywords()")) == POSTGRES_KEYWORDS
