"""FER Bias Lab: `streamlit run app.py`."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st

ROOT = Path(__file__).resolve().parent

# (file, title, icon, default). Pages are listed here in navigation order.
PAGES: list[tuple[str, str, str, bool]] = [
    ("pages/home.py", "Home", ":material/home:", True),
    ("pages/data.py", "Data", ":material/dataset:", False),
    ("pages/train_or_load.py", "Train or load", ":material/model_training:", False),
    ("pages/tradeoffs.py", "Trade-offs", ":material/balance:", False),
    ("pages/misclassified.py", "Misclassified faces", ":material/image_search:", False),
    ("pages/report.py", "Report", ":material/description:", False),
    ("pages/latent.py", "Latent space", ":material/scatter_plot:", False),
]

st.set_page_config(page_title="FER Bias Lab", page_icon=":material/face:", layout="wide")
nav = st.navigation([
    st.Page(str(ROOT / f), title=t, icon=i, default=d) for f, t, i, d in PAGES if (ROOT / f).is_file()
])
# A chart's box has a height before Plotly first draws in it: Plotly notes an empty box as "zero height" and,
# when it no longer is on the next update, draws the whole chart again.
st.html("<style>.stPlotlyChart > div { min-height: 10px; }</style>")
nav.run()
