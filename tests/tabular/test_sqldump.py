"""SQL dumps read as tables: mysqldump extended inserts, pg_dump COPY and --inserts."""

import io

import pytest

from etanche.tabular import sqldump
from etanche.tabular.errors import TabularError

MYSQL = """-- MySQL dump 10.13  Distrib 8.0.36
/*!40101 SET NAMES utf8mb4 */;
CREATE TABLE `patients` (
  `id` int NOT NULL AUTO_INCREMENT,
  `nom` varchar(100) DEFAULT NULL,
  `notes` text,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB;
INSERT INTO `patients` VALUES (1,'O\\'Neil','a;b\\nc'),(2,'D''Arc',NULL);
INSERT INTO `patients` VALUES (3,'multi
line;
ok','z');
INSERT INTO `other` (`a`) VALUES ('q');
"""

PG = """--
-- PostgreSQL database dump
--
SET standard_conforming_strings = on;
COPY public.patients (id, nom) FROM stdin;
1\tO'Neil
2\t\\N
3\ta\\tb
\\.
INSERT INTO public.patients VALUES (5, 'C:\\dir', E'x\\ny');
"""


def tables(text, **kwargs):
    return [(t.name, t.columns, list(t.rows)) for t in sqldump.read_tables(io.StringIO(text),
                                                                            **kwargs)]


def test_mysql_dump():
    assert tables(MYSQL) == [
        ("patients", ["id", "nom", "notes"],
         [["1", "O'Neil", "a;b\nc"], ["2", "D'Arc", None], ["3", "multi\nline;\nok", "z"]]),
        ("other", ["a"], [["q"]]),
    ]


def test_postgresql_dump():
    # The INSERT names no columns and no CREATE TABLE came first: a table of its own.
    assert tables(PG) == [("public.patients", ["id", "nom"],
                           [["1", "O'Neil"], ["2", None], ["3", "a\tb"]]),
                          ("public.patients", [], [["5", "C:\\dir", "x\ny"]])]


def test_recognised_by_its_head():
    assert sqldump.looks_like_sql(MYSQL) and sqldump.looks_like_sql(PG)
    assert not sqldump.looks_like_sql("nom;prenom\nA;B\n")


@pytest.mark.parametrize("text", ["INSERT INTO t VALUES ('abc" + "x" * 100 + "\n",
                                  "COPY t (a) FROM stdin;\n1\n"])
def test_unfinished_or_too_long_refused(text):
    with pytest.raises(TabularError):
        tables(text, max_statement=50)


def test_a_long_insert_is_read_tuple_by_tuple():
    # 30,000 tuples on lines of a few tuples each, one statement far over the bound:
    # read, since only one tuple at a time is held.
    tuples = ",\n".join(f"({i},'NOM{i}','a;b),(c')" for i in range(30_000))
    text = "INSERT INTO `patients` (`id`, `nom`, `notes`) VALUES " + tuples + ";\n"  # noqa: S608  (a dump to parse, never run)
    assert len(text) > 20 * 1000
    [(name, columns, rows)] = tables(text, max_statement=1000)
    assert name == "patients" and columns == ["id", "nom", "notes"]
    assert len(rows) == 30_000 and rows[-1] == ["29999", "NOM29999", "a;b),(c"]


@pytest.mark.parametrize("text", [
    "INSERT INTO t VALUES (1,'" + "x" * 2000 + "');\n",  # one tuple over the bound
    "INSERT INTO t VALUES (1,'a'),\n(2,'b'\n",  # the dump ends inside the statement
    "INSERT INTO t VALUES (1,'a')),(2);\n",
])
def test_a_streamed_insert_refuses_what_it_cannot_read(text):
    with pytest.raises(TabularError):
        tables(text, max_statement=1000)
