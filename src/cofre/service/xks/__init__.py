"""External key stores (ADR 22): ``stores`` administers the logical key stores Cofre
serves as an XKS proxy; ``proxy`` answers the XKS API's calls with their keys."""
