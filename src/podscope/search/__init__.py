"""Search: the query language, sentence embeddings, the vector index and the search engine over a library."""
