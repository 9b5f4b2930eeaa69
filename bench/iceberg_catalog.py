"""pyiceberg code shared by bench/bulk/helpers.py and bench/cdc/helpers.py (run with the stack's venv,
.stack/venv/bin/python, pyiceberg 0.12). Each helpers.py puts bench/ on sys.path to import it.
"""


def catalog(uri):
    from pyiceberg.catalog import load_catalog
    return load_catalog("bench", **{"type": "rest", "uri": uri})


def namespace_tuple(namespace):
    """"bench.cdc" -> ("bench", "cdc")"""
    return tuple(namespace.split("."))


def purge_namespace(cat, namespace):
    """Drop every table of the namespace with its files, then the namespace itself. Returns the locations
    (table.location()) of the dropped tables; [] when the namespace does not exist (nothing to purge)."""
    ns = namespace_tuple(namespace)
    try:
        tables = cat.list_tables(ns)
    except Exception as err:  # NoSuchNamespaceError: nothing to purge
        if type(err).__name__ == "NoSuchNamespaceError":
            return []
        raise
    locations = [cat.load_table(ident).location() for ident in tables]
    for ident in tables:
        cat.purge_table(ident)
    cat.drop_namespace(ns)
    return locations
