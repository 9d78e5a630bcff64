"""`pyibert embed MODEL FILE|TEXT... [--output X.npy] [--json]` and
`pyibert search MODEL QUERY... --documents DOCS.txt [--top-k K] [--cache X.npy] [--json]`."""
from __future__ import annotations

import json
import os
import sys

import numpy as np

# A progress line on stderr for document sets at least this long (a Pi embeds ~20 texts a second).
PROGRESS_MIN_TEXTS = 200


def _threads_argument(parser) -> None:
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per forward pass, 1 to 64 (default: one per core, at most 8)")


def add_parser(subparsers) -> None:
    embed = subparsers.add_parser(
        "embed", help="sentence embeddings of texts (a sentence-embedding .ibert model)",
        description="Embed texts with a sentence-embedding model (converted from a sentence-transformers "
        "directory). Prints JSON lines {\"text\", \"embedding\"}, or writes a float32 [n, dim] .npy with --output.")
    embed.add_argument("model", help="the .ibert model file")
    embed.add_argument("inputs", nargs="+", metavar="FILE|TEXT",
                       help="texts; an argument naming an existing file stands for its lines, one text each")
    embed.add_argument("--output", "-o", metavar="X.npy", help="write the embeddings to this .npy file")
    embed.add_argument("--json", action="store_true",
                       help='print one JSON object {"embeddings": [{"text", "embedding"}, ...]} instead of JSON lines')
    _threads_argument(embed)
    embed.set_defaults(run=run_embed)

    search = subparsers.add_parser(
        "search", help="semantic search: the documents most similar to a query",
        description="Embed every line of --documents and each QUERY, and print the top-k documents by cosine "
        "similarity: rank, score, document.")
    search.add_argument("model", help="the .ibert model file (sentence-embedding)")
    search.add_argument("queries", nargs="+", metavar="QUERY", help="query texts")
    search.add_argument("--documents", "-d", required=True, metavar="DOCS.txt", help="one document per line")
    search.add_argument("--top-k", "-k", type=int, default=5, help="documents per query (default: %(default)s)")
    search.add_argument("--cache", metavar="X.npy",
                        help="reuse the documents' embeddings from this .npy if it is newer than the documents "
                        "and the model and has one row per document; else compute and write it")
    search.add_argument("--json", action="store_true",
                        help='print one JSON object {"results": [{"query", "hits": [{"rank", "score", '
                        '"document", "line"}]}]}')
    _threads_argument(search)
    search.set_defaults(run=run_search)


def _read_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as stream:
        return [line.rstrip("\r\n") for line in stream if line.strip()]


def _texts(inputs: list[str]) -> list[str]:
    texts = []
    for item in inputs:
        texts.extend(_read_lines(item) if os.path.isfile(item) else [item])
    if not texts:
        raise ValueError("no text to embed: the files given are empty")
    return texts


def _embed_with_progress(model, texts: list[str]) -> np.ndarray:
    from ..tasks.embedding import embed

    if len(texts) < PROGRESS_MIN_TEXTS or not sys.stderr.isatty():
        return embed(model, texts)
    done = 0

    def step(count: int) -> None:
        nonlocal done
        done += count
        if done % 50 == 0 or done == len(texts):
            print(f"\rembedding documents: {done}/{len(texts)}", end="\n" if done == len(texts) else "",
                  file=sys.stderr, flush=True)

    return embed(model, texts, progress=step)


def run_embed(args) -> int:
    from ..model import Model

    texts = _texts(args.inputs)
    with Model(args.model, threads=args.threads) as model:
        embeddings = _embed_with_progress(model, texts)
    if args.output:
        np.save(args.output, embeddings)
        print(f"wrote {embeddings.shape[0]} embeddings of {embeddings.shape[1]} dimensions to {args.output}",
              file=sys.stderr)
    elif args.json:
        print(json.dumps({"embeddings": [{"text": t, "embedding": e.tolist()} for t, e in zip(texts, embeddings)]},
                         ensure_ascii=False))
    else:
        for text, embedding in zip(texts, embeddings):
            print(json.dumps({"text": text, "embedding": embedding.tolist()}, ensure_ascii=False))
    return 0


def _cached(path: str | None, sources: list[str], rows: int) -> np.ndarray | None:
    if not path or not os.path.isfile(path):
        return None
    if any(os.path.getmtime(path) < os.path.getmtime(source) for source in sources):
        return None
    embeddings = np.load(path)
    return embeddings if embeddings.ndim == 2 and embeddings.shape[0] == rows else None


def run_search(args) -> int:
    from ..model import Model
    from ..tasks.embedding import embed, search

    documents = _read_lines(args.documents)
    if not documents:
        raise ValueError(f"{args.documents} has no documents")
    with Model(args.model, threads=args.threads) as model:
        corpus = _cached(args.cache, [args.documents, args.model], len(documents))
        if corpus is None:
            corpus = _embed_with_progress(model, documents)
            if args.cache:
                np.save(args.cache, corpus)
        queries = embed(model, args.queries)
    results = search(queries, corpus, args.top_k)
    if args.json:
        print(json.dumps({"results": [
            {"query": q, "hits": [{"rank": r + 1, "score": h["score"], "document": documents[h["corpus_id"]],
                                   "line": h["corpus_id"] + 1} for r, h in enumerate(hits)]}
            for q, hits in zip(args.queries, results)]}, ensure_ascii=False))
        return 0
    for query, hits in zip(args.queries, results):
        print(f"query: {query}")
        for rank, hit in enumerate(hits, 1):
            print(f"{rank}\t{hit['score']:.4f}\t{documents[hit['corpus_id']]}")
    return 0
