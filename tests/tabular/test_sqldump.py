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


# The head and tail of what pg_dump 15.20 wrote here (`pg_dump -t dossiers`): since the
# August 2025 releases a dump opens and closes with psql's \restrict / \unrestrict.
PG_DUMP_15_20 = """--
-- PostgreSQL database dump
--

\\restrict Eecl3F0ImkrgM8IMdXUz8S3nPT51UrYcyUeT66vYLzov0qyzjC7DAonQTswYLUo

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);

CREATE TABLE public.dossiers (
    id integer NOT NULL,
    nom text
);


ALTER TABLE public.dossiers OWNER TO postgres;

{data}

ALTER TABLE ONLY public.dossiers
    ADD CONSTRAINT dossiers_pkey PRIMARY KEY (id);


--
-- PostgreSQL database dump complete
--

\\unrestrict Eecl3F0ImkrgM8IMdXUz8S3nPT51UrYcyUeT66vYLzov0qyzjC7DAonQTswYLUo

"""


@pytest.mark.parametrize("data", [
    "COPY public.dossiers (id, nom) FROM stdin;\n1\tO'Neil\n2\t\\N\n\\.",
    "INSERT INTO public.dossiers (id, nom) VALUES (1, 'O''Neil');\n"
    "INSERT INTO public.dossiers (id, nom) VALUES (2, NULL);",
], ids=["copy", "column-inserts"])
def test_a_pg_dump_with_restrict_lines(data):
    found = tables(PG_DUMP_15_20.format(data=data))
    assert [(name, columns) for name, columns, _ in found][:1] == [("public.dossiers",
                                                                    ["id", "nom"])]
    assert [row for _, _, rows in found for row in rows] == [["1", "O'Neil"], ["2", None]]


# What mariadb-dump 10.11 wrote here: the sandbox line first, one tuple per line.
MARIADB_10_11 = """/*M!999999\\- enable the sandbox mode */
-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
/*!40101 SET NAMES utf8mb4 */;
DROP TABLE IF EXISTS `dossiers`;
CREATE TABLE `dossiers` (
  `id` int(11) NOT NULL,
  `nom` varchar(80) DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
LOCK TABLES `dossiers` WRITE;
/*!40000 ALTER TABLE `dossiers` DISABLE KEYS */;
INSERT INTO `dossiers` VALUES
(1,'O\\'Neil'),
(2,NULL);
/*!40000 ALTER TABLE `dossiers` ENABLE KEYS */;
UNLOCK TABLES;
"""


def test_a_mariadb_dump_with_one_tuple_per_line():
    assert tables(MARIADB_10_11) == [("dossiers", ["id", "nom"], [["1", "O'Neil"], ["2", None]])]


def test_sqlite_dump_names_every_column_of_its_one_line_create_table():
    """What SQLite's .dump writes (the same text as Python's iterdump): the CREATE TABLE on
    one line, some columns without a type, INSERT INTO "name" VALUES(...)."""
    import sqlite3

    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE clients(ville TEXT, patient, ss TEXT, solde decimal(10,2), "
               "statut TEXT DEFAULT 'a,b', PRIMARY KEY (ss))")
    db.execute("INSERT INTO clients VALUES ('Val-d''Arguenon', 'ANTOINE Brigitte', "
               "'221089935190721', 1.5, 'x')")
    dump = "\n".join(db.iterdump())
    assert tables(dump) == [("clients", ["ville", "patient", "ss", "solde", "statut"],
                             [["Val-d'Arguenon", "ANTOINE Brigitte", "221089935190721",
                               "1.5", "x"]])]


def test_a_quoted_column_named_like_a_keyword_is_a_column():
    dump = 'CREATE TABLE t ("key" text, "nom" text, KEY idx ("nom"));\n' \
           "INSERT INTO t VALUES ('k', 'n');\n"
    assert tables(dump) == [("t", ["key", "nom"], [["k", "n"]])]
