"""The benchmark's DER settings reproduce the figures independent scorers give on a real AMI reference."""

from __future__ import annotations

import pytest
from pyannote.database.util import load_rttm
from pyannote.metrics.diarization import DiarizationErrorRate

from helpers import DATA


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_der_with_a_quarter_second_collar_matches_md_eval() -> None:
    ref = load_rttm(DATA / "speechbrain-ES2014c" / "ES2014c.ref.rttm")["ES2014c"]
    hyp = load_rttm(DATA / "speechbrain-ES2014c" / "ES2014c.sys.rttm")["ES2014c"]
    # pyannote's collar is the total width: 0.5 here is md-eval's 0.25 s on each side.
    assert DiarizationErrorRate(collar=0.5, skip_overlap=True)(ref, hyp) == pytest.approx(0.0717, abs=5e-4)
    assert DiarizationErrorRate(collar=0.5, skip_overlap=False)(ref, hyp) == pytest.approx(0.1039, abs=5e-4)
