using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;

namespace NewLlm.Data;

/// <summary>
/// Stores a <see cref="TokenizedCorpus"/> as an Arrow IPC file: columns <c>ids</c> (list of int32, the row without
/// padding) and <c>byte_count</c> (int64); schema metadata holds the cache key and a sha256 of the content.
/// </summary>
internal static class CorpusArrowCache
{
    public const string FormatName = "newllm.tokenized-corpus/1";
    private const string ContentKey = "newllm.content_sha256";
    private const int RowsPerBatch = 16_384;
    private static readonly TimeSpan StaleTemporaryAge = TimeSpan.FromHours(1);

    public static string GetPath(string directory, CorpusCacheKey key) => Path.Combine(directory, $"tokenized-{key.ShortHash()}.arrow");

    public static async Task WriteAsync(string path, CorpusCacheKey key, TokenizedCorpus corpus, CancellationToken cancellationToken)
    {
        var builder = new Schema.Builder()
            .Field(f => f.Name("ids").DataType(new ListType(Int32Type.Default)).Nullable(false))
            .Field(f => f.Name("byte_count").DataType(Int64Type.Default).Nullable(false));
        foreach (var (k, v) in key.ToMetadata())
        {
            builder.Metadata(k, v);
        }

        builder.Metadata(ContentKey, corpus.ComputeContentSha256());
        var schema = builder.Build();

        // A cache write killed half-way leaves its temporary file; one untouched for an hour belongs to no live writer.
        AtomicFile.DeleteStale(Path.GetDirectoryName(Path.GetFullPath(path))!, StaleTemporaryAge);
        await AtomicFile.WriteAsync(
            path,
            async (stream, token) =>
            {
                using var writer = new ArrowFileWriter(stream, schema, leaveOpen: true);
                for (int start = 0; start < corpus.Count; start += RowsPerBatch)
                {
                    int count = Math.Min(RowsPerBatch, corpus.Count - start);
                    using var batch = MakeBatch(schema, corpus, start, count);
                    await writer.WriteRecordBatchAsync(batch, token).ConfigureAwait(false);
                }

                await writer.WriteEndAsync(token).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads and verifies a cache file.</summary>
    /// <exception cref="InvalidDataException">The file does not match the key, or is corrupt.</exception>
    public static async Task<TokenizedCorpus> ReadAsync(string path, CorpusCacheKey key, CancellationToken cancellationToken)
    {
        try
        {
            byte[] bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
            using var reader = new ArrowFileReader(new MemoryStream(bytes, writable: false));
            var schema = await reader.GetSchema(cancellationToken).ConfigureAwait(false);
            var metadata = schema.Metadata ?? new Dictionary<string, string>();
            foreach (var (k, v) in key.ToMetadata())
            {
                if (!metadata.TryGetValue(k, out string? stored) || stored != v)
                {
                    throw new InvalidDataException($"cache key '{k}' is '{stored ?? "(missing)"}', expected '{v}'");
                }
            }

            int length = key.SequenceLength;
            var ids = new int[checked(key.RowCount * length)];
            var lengths = new int[key.RowCount];
            var byteCounts = new long[key.RowCount];
            if (key.PadId != 0)
            {
                ids.AsSpan().Fill(key.PadId);
            }

            int row = 0;
            RecordBatch? batch;
            while ((batch = await reader.ReadNextRecordBatchAsync(cancellationToken).ConfigureAwait(false)) is not null)
            {
                using (batch)
                {
                    if (batch.Column(0) is not ListArray list || list.Values is not Int32Array values || batch.Column(1) is not Int64Array counts)
                    {
                        throw new InvalidDataException("unexpected column types");
                    }

                    if (row + batch.Length > key.RowCount)
                    {
                        throw new InvalidDataException("more rows than the key says");
                    }

                    var offsets = list.ValueOffsets;
                    var valueSpan = values.Values;
                    for (int i = 0; i < batch.Length; i++, row++)
                    {
                        int n = offsets[i + 1] - offsets[i];
                        if (n < 0 || n > length)
                        {
                            throw new InvalidDataException($"row {row} has {n} ids; the sequence length is {length}");
                        }

                        valueSpan.Slice(offsets[i], n).CopyTo(ids.AsSpan(row * length, n));
                        lengths[row] = n;
                        byteCounts[row] = counts.GetValue(i) ?? throw new InvalidDataException($"row {row} has no byte count");
                    }
                }
            }

            if (row != key.RowCount)
            {
                throw new InvalidDataException($"{row} rows; expected {key.RowCount}");
            }

            var corpus = new TokenizedCorpus(ids, lengths, byteCounts, length, key.PadId, key.VocabSize, key.TokenizerFingerprint);
            if (!metadata.TryGetValue(ContentKey, out string? content) || content != corpus.ComputeContentSha256())
            {
                throw new InvalidDataException("the content does not match its sha256");
            }

            return corpus;
        }
        catch (Exception e) when (e is not InvalidDataException and not OperationCanceledException)
        {
            throw new InvalidDataException($"not a readable Arrow IPC file: {e.Message}", e);
        }
    }

    private static RecordBatch MakeBatch(Schema schema, TokenizedCorpus corpus, int start, int count)
    {
        var listBuilder = new ListArray.Builder(Int32Type.Default);
        var valueBuilder = (Int32Array.Builder)listBuilder.ValueBuilder;
        var byteBuilder = new Int64Array.Builder();
        for (int i = start; i < start + count; i++)
        {
            listBuilder.Append();
            valueBuilder.Append(corpus.GetRow(i)[..corpus.GetLength(i)]);
            byteBuilder.Append(corpus.GetByteCount(i));
        }

        return new RecordBatch(schema, [listBuilder.Build(), byteBuilder.Build()], count);
    }
}
