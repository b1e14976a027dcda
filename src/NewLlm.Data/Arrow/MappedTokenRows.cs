using System.IO.MemoryMappedFiles;
using Apache.Arrow;
using Apache.Arrow.Ipc;

namespace NewLlm.Data;

/// <summary>
/// The rows of a tokenized-corpus cache read from its shards mapped into memory: the Arrow buffers are slices of the
/// mapping (no copy), so a corpus of several GB costs the process little more than the pages the operating system keeps.
/// </summary>
internal sealed unsafe class MappedTokenRows : TokenRows
{
    private readonly List<Shard> _shards;
    private readonly int[] _batchStarts;
    private readonly (ListArray Ids, Int32Array Values, Int64Array ByteCounts)[] _batches;
    private readonly int _count;

    private MappedTokenRows(List<Shard> shards, List<RecordBatch> batches)
    {
        _shards = shards;
        _batchStarts = new int[batches.Count];
        _batches = new (ListArray, Int32Array, Int64Array)[batches.Count];
        long start = 0;
        for (int b = 0; b < batches.Count; b++)
        {
            _batchStarts[b] = checked((int)start);
            var ids = (ListArray)batches[b].Column(0);
            _batches[b] = (ids, (Int32Array)ids.Values, (Int64Array)batches[b].Column(1));
            start += batches[b].Length;
        }

        _count = checked((int)start);
    }

    public override int Count => _count;

    /// <summary>Whether <paramref name="span"/> lies in the mapping (its ids were not copied).</summary>
    public bool IsMapped(ReadOnlySpan<int> span)
    {
        fixed (int* p = span)
        {
            byte* address = (byte*)p;
            foreach (var shard in _shards)
            {
                if (address >= shard.Pointer && address < shard.Pointer + shard.Length)
                {
                    return true;
                }
            }

            return false;
        }
    }

    public override ReadOnlySpan<int> GetTokens(int index)
    {
        int b = FindBatch(index);
        int local = index - _batchStarts[b];
        var offsets = _batches[b].Ids.ValueOffsets;
        return _batches[b].Values.Values.Slice(offsets[local], offsets[local + 1] - offsets[local]);
    }

    public override long GetByteCount(int index)
    {
        int b = FindBatch(index);
        return _batches[b].ByteCounts.Values[index - _batchStarts[b]];
    }

    /// <summary>Maps the shards and checks their schema, columns, row counts and row lengths.</summary>
    /// <exception cref="InvalidDataException">A shard does not hold what the key says.</exception>
    public static MappedTokenRows Open(IReadOnlyList<(string Path, long Rows)> files, CorpusCacheKey key)
    {
        var shards = new List<Shard>();
        var batches = new List<RecordBatch>();
        try
        {
            foreach (var (path, rows) in files)
            {
                var shard = Shard.Map(path);
                shards.Add(shard);
                long read = 0;
                using var reader = new ArrowStreamReader(new MappedMemory(shard.Pointer, checked((int)shard.Length)).Memory);
                key.Verify(k => reader.Schema.Metadata?.GetValueOrDefault(k), $"'{path}': ");

                while (reader.ReadNextRecordBatch() is { } batch)
                {
                    batches.Add(batch);
                    if (batch.ColumnCount != 2 || batch.Column(0) is not ListArray { Values: Int32Array } list || batch.Column(1) is not Int64Array counts
                        || counts.NullCount != 0 || list.NullCount != 0)
                    {
                        throw new InvalidDataException($"'{path}': unexpected columns");
                    }

                    var offsets = list.ValueOffsets;
                    var ids = ((Int32Array)list.Values).Values;
                    for (int i = 0; i < batch.Length; i++)
                    {
                        int n = offsets[i + 1] - offsets[i];
                        if (n < 0 || n > key.SequenceLength || offsets[i] < 0 || offsets[i + 1] > ids.Length)
                        {
                            throw new InvalidDataException($"'{path}': row {read + i} has {n} ids; the sequence length is {key.SequenceLength}");
                        }

                        // Every id must be one of the vocabulary's: a cache changed on disk (and rehashed to match its
                        // index) must not reach a model as an id it cannot embed.
                        var row = ids.Slice(offsets[i], n);
                        int bad = row.IndexOfAnyExceptInRange(0, key.VocabSize - 1);
                        if (bad >= 0)
                        {
                            throw new InvalidDataException(
                                $"'{path}': row {read + i} holds token id {row[bad]} at position {bad}, outside the vocabulary [0, {key.VocabSize}) of its tokenizer; "
                                + "the cache was changed after it was written. Delete it (the shard and its index tokenized-*.json) to have it rebuilt");
                        }
                    }

                    read += batch.Length;
                }

                if (read != rows)
                {
                    throw new InvalidDataException($"'{path}' holds {read} rows; the index says {rows}");
                }
            }

            return new MappedTokenRows(shards, batches);
        }
        catch (Exception e)
        {
            batches.ForEach(batch => batch.Dispose());
            shards.ForEach(shard => shard.Dispose());
            if (e is InvalidDataException)
            {
                throw;
            }

            throw new InvalidDataException($"not a readable tokenized-corpus shard: {e.Message}", e);
        }
    }

    public override void Dispose()
    {
        _shards.ForEach(shard => shard.Dispose());
        _shards.Clear();
        base.Dispose();
    }

    /// <remarks>The index is checked by <see cref="TokenizedCorpus"/>, the one way in.</remarks>
    private int FindBatch(int index)
    {
        int b = System.Array.BinarySearch(_batchStarts, index);
        return b >= 0 ? b : ~b - 1;
    }

    /// <summary>One mapped file; disposed once (by <see cref="Open"/> on failure, else by the rows).</summary>
    private sealed class Shard(MemoryMappedFile file, MemoryMappedViewAccessor view, byte* pointer, long length) : IDisposable
    {
        public byte* Pointer { get; } = pointer;

        public long Length { get; } = length;

        public static Shard Map(string path)
        {
            long length = new FileInfo(path).Length;
            if (length is 0 or > int.MaxValue)
            {
                throw new InvalidDataException($"'{path}' is {length} bytes; a shard is between 1 byte and 2 GiB");
            }

            var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            var view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            return new Shard(file, view, pointer + view.PointerOffset, length);
        }

        public void Dispose()
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
            view.Dispose();
            file.Dispose();
        }
    }
}
