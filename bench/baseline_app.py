"""The baseline: a minimal Flask app returning JSON, run under the same gunicorn settings as StoreCRM."""
from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/json")
def hello():
    return jsonify(ok=True, items=[])
