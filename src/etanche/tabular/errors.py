"""The one error the readers raise: a short sentence in French and in English.

A surface picks its language (`str(error)` is French, the web and the CLI of a
French lab; `error.en` for logs read by operators). A message never quotes a
cell, a line or a file name: a reader's error may end up in a log or on a
screen, and the file holds personal data.
"""


class TabularError(Exception):
    def __init__(self, code: str, fr: str, en: str):
        super().__init__(fr)
        self.code = code
        self.fr = fr
        self.en = en

    def __str__(self) -> str:
        return self.fr


def empty() -> TabularError:
    return TabularError("empty", "Le fichier est vide.", "The file is empty.")


def binary() -> TabularError:
    return TabularError(
        "binary",
        "Le fichier n'est ni un CSV, ni un classeur XLSX, ni du JSON (NDJSON, FHIR) lisible.",
        "The file is not a readable CSV, XLSX workbook or JSON (NDJSON, FHIR) file.",
    )


def too_big(limit: int) -> TabularError:
    mib = limit // (1024 * 1024)
    return TabularError(
        "too_big",
        f"Le fichier décompressé dépasse la limite de {mib} Mio.",
        f"The uncompressed file exceeds the {mib} MiB limit.",
    )


def bomb() -> TabularError:
    return TabularError(
        "bomb",
        "Archive refusée : son taux de compression est anormal (bombe de décompression ?).",
        "Archive refused: its compression ratio is abnormal (decompression bomb?).",
    )


def line_too_long(row: int, limit: int) -> TabularError:
    return TabularError(
        "line_too_long",
        f"Ligne {row} : plus de {limit} caractères, le fichier n'est pas un tableau lisible.",
        f"Row {row}: over {limit} characters, the file is not a readable table.",
    )
