"""NewsLens inference: load a saved model and analyse Vietnamese news articles.

    from model import predict
    result = predict(article_text)
    result.type.label, result.topics.labels, result.keywords, result.summary.text
"""
from .bundle import BundleError
from .predictor import LivePredictor, Predictor, default_predictor, predict
from .results import Explanation, Keyword, ModelInfo, Prediction, Summary, TopicsPrediction, TypePrediction

__all__ = [
    "BundleError",
    "Explanation",
    "Keyword",
    "LivePredictor",
    "ModelInfo",
    "Prediction",
    "Predictor",
    "Summary",
    "TopicsPrediction",
    "TypePrediction",
    "default_predictor",
    "predict",
]
