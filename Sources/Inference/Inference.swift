// Inference: the embedded engine. A GGUF reader, quantised kernels, the llama forward pass,
// the byte-level BPE tokenizer, chat formatting, sampling and batched decoding, in pure Swift.
