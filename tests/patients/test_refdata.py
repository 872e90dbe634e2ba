import glob
import tomllib
from pathlib import Path

from etanche.patients import refdata

ROOT = Path(__file__).resolve().parents[2]


def test_it_loads_each_list_once():
    assert refdata.communes() is refdata.communes()
    assert refdata.countries() is refdata.countries()


def test_it_ships_communes_countries_and_names():
    assert refdata.communes()["2A004"].name == "Ajaccio"
    assert refdata.communes()["97105"].department == "971"
    assert refdata.communes()["75101"].postal_codes == ("75001",)
    assert refdata.countries()["99350"].name == "Maroc"
    assert refdata.departments()["2B"].zone == "metro"
    names, counts = refdata.first_names()["F"]
    assert names[0] == "Marie" and counts[0] > counts[1]
    assert refdata.surnames()[0][0] == "MARTIN"


def test_it_keeps_the_paris_lyon_marseille_city_codes_the_generator_skips():
    from etanche.synthetic.people import ARRONDISSEMENT_CITIES

    assert {refdata.communes()[code].name for code in ARRONDISSEMENT_CITIES} == {
        "Paris",
        "Lyon",
        "Marseille",
    }


def test_it_documents_and_packages_every_data_file():
    data_files = sorted(p.name for p in refdata.DATA_DIR.glob("*.csv"))
    sources = (refdata.DATA_DIR / "SOURCES.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in sources for name in data_files)
    assert sum(p.stat().st_size for p in refdata.DATA_DIR.iterdir()) < 3_000_000
    # Setuptools expands package-data patterns with glob(recursive=True) from the package.
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["etanche"]
    package = ROOT / "src" / "etanche"
    packaged = {
        Path(match).resolve()
        for pattern in patterns
        for match in glob.glob(str(package / pattern), recursive=True)
    }
    assert {p.resolve() for p in refdata.DATA_DIR.iterdir()} <= packaged
