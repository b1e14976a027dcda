using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;

namespace NewLlm.Data;

/// <summary>
/// Writes a tokenized-corpus cache (<see cref="CorpusArrowCache"/>) record batch by record batch, so that a corpus of
/// any size is written in the memory of one batch: each shard through a temporary file renamed when complete, the index
/// last. Disposed before <see cref="CompleteAsync"/>, it deletes what it wrote. The tokenizer encodes the texts given to
/// <see cref="AddTextAsync"/>.
/// </summary>
internal sealed class CorpusCacheWriter(string directory, CorpusCacheKey key, DialogueTokenizer? tokenizer, int maxDegreeOfParallelism) : IAsyncDisposable
{
    /// <summary>How many texts are encoded and appended at a time.</summary>
    public const int RowsPerChunk = 4096;

    private const long ShardBytes = 1L << 30;
    private readonly Schema _schema = CorpusArrowCache.CreateSchema(key);
    private readonly List<string> _pending = new(RowsPerChunk);
    private readonly List<JsonObject> _shards = [];
    private readonly List<string> _written = [];
    private FileStream? _stream;
    private ArrowStreamWriter? _writer;
    private string? _temporary;
    private long _shardRows;
    private bool _completed;

    /// <summary>The rows written so far.</summary>
    public long RowCount { get; private set; }

    /// <summary>Starts a cache in <paramref name="directory"/> (created when missing); stale temporaries there are deleted.</summary>
    public static CorpusCacheWriter Create(string directory, CorpusCacheKey key, DialogueTokenizer? tokenizer = null, int maxDegreeOfParallelism = -1)
    {
        Directory.CreateDirectory(directory);
        // A cache write killed half-way leaves its temporary files: they go as soon as no process holds their lock (a live
        // writer holds its shard's temporary file open with FileShare.None until it renames it).
        AtomicFile.DeleteOrphaned(directory, CorpusArrowCache.StaleTemporaryAge);
        File.Delete(CorpusArrowCache.GetIndexPath(directory, key)); // the old index goes first: its shards are about to be replaced
        return new CorpusCacheWriter(directory, key, tokenizer, maxDegreeOfParallelism);
    }

    /// <summary>Adds a text; every <see cref="RowsPerChunk"/> texts are encoded (<see cref="CorpusEncoder"/>) and appended as one record batch.</summary>
    public async Task AddTextAsync(string text, CancellationToken cancellationToken)
    {
        _pending.Add(text);
        if (_pending.Count == RowsPerChunk)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Appends rows as one record batch.</summary>
    public async Task AppendAsync(IReadOnlyList<int[]> rows, IReadOnlyList<long> byteCounts, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return;
        }

        if (_writer is null)
        {
            OpenShard();
        }

        var listBuilder = new ListArray.Builder(Int32Type.Default);
        var valueBuilder = (Int32Array.Builder)listBuilder.ValueBuilder;
        var byteBuilder = new Int64Array.Builder();
        for (int i = 0; i < rows.Count; i++)
        {
            if (rows[i].Length > key.SequenceLength)
            {
                throw new ArgumentException($"Row {RowCount + i} has {rows[i].Length} ids; the sequence length is {key.SequenceLength}.", nameof(rows));
            }

            listBuilder.Append();
            valueBuilder.Append(rows[i]);
            byteBuilder.Append(byteCounts[i]);
        }

        using var batch = new RecordBatch(_schema, [listBuilder.Build(), byteBuilder.Build()], rows.Count);
        await _writer!.WriteRecordBatchAsync(batch, cancellationToken).ConfigureAwait(false);
        _shardRows += rows.Count;
        RowCount += rows.Count;
        if (_stream!.Position >= ShardBytes)
        {
            await CloseShardAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Closes the last shard and writes the index: from here on the cache is used.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        await CloseShardAsync(cancellationToken).ConfigureAwait(false);
        var index = new JsonObject
        {
            ["format"] = CorpusArrowCache.FormatName,
            ["key"] = new JsonObject(key.ToMetadata().Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
            ["rows"] = RowCount,
            ["shards"] = new JsonArray([.. _shards]),
        };
        string path = CorpusArrowCache.GetIndexPath(directory, key);
        byte[] bytes = Encoding.UTF8.GetBytes(index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        await AtomicFile.WriteAsync(path, (stream, token) => stream.WriteAsync(bytes, token).AsTask(), cancellationToken).ConfigureAwait(false);
        _completed = true;
    }

    public async ValueTask DisposeAsync()
    {
        _writer?.Dispose();
        _writer = null;

        if (_stream is not null)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
            _stream = null;
        }

        if (!_completed)
        {
            foreach (string file in _written.Append(_temporary).OfType<string>())
            {
                try
                {
                    File.Delete(file);
                }
                catch (IOException)
                {
                    // Left for the stale-temporary clean-up of the next write.
                }
            }
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_pending.Count == 0)
        {
            return;
        }

        var (rows, bytes) = CorpusEncoder.Encode(_pending, tokenizer!, key.SequenceLength, maxDegreeOfParallelism);
        _pending.Clear();
        await AppendAsync(rows, bytes, cancellationToken).ConfigureAwait(false);
    }

    private void OpenShard()
    {
        string final = Path.Combine(directory, CorpusArrowCache.GetShardName(key, _shards.Count));
        _temporary = AtomicFile.TemporaryPathFor(final);
        _stream = new FileStream(_temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        _writer = new ArrowStreamWriter(_stream, _schema, leaveOpen: true);
        _shardRows = 0;
    }

    private async Task CloseShardAsync(CancellationToken cancellationToken)
    {
        if (_writer is null)
        {
            return;
        }

        await _writer.WriteEndAsync(cancellationToken).ConfigureAwait(false);
        _writer.Dispose();
        _writer = null;
        await _stream!.FlushAsync(cancellationToken).ConfigureAwait(false);
        _stream.Position = 0;
        string sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(_stream, cancellationToken).ConfigureAwait(false));
        long size = _stream.Length;
        AtomicFile.MarkFresh(_stream); // hashing a large shard takes a while: the rename must still fall within the orphan grace
        await _stream.DisposeAsync().ConfigureAwait(false);
        _stream = null;
        string name = CorpusArrowCache.GetShardName(key, _shards.Count);
        string final = Path.Combine(directory, name);
        File.Move(_temporary!, final, overwrite: true);
        _written.Add(final);
        _temporary = null;
        _shards.Add(new JsonObject { ["file"] = name, ["rows"] = _shardRows, ["size"] = size, ["sha256"] = sha256 });
    }
}
