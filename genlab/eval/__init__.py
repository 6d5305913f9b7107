"""genlab.eval: metrics, the 3D digit classifier, the full evaluation and its report.

    from genlab.eval import load_results
    results = load_results()        # the committed results/evaluation.json (what the Compare page shows)

Modules: metrics (BCE, MSE, IoU, floors), paper (published tables), frechet, prdc, stats
(bootstrap, label distributions), latent (interpolation paths), classifier, noise (noisy
training), evaluate (everything for a set of checkpoints), report (files and charts).
"""

from genlab.eval.report import load_results

__all__ = ["load_results"]
