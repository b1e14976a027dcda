using Apache.Arrow;
using Apache.Arrow.Types;

namespace NewLlm.Data;

/// <summary>
/// The on-disk form of a <see cref="TokenizedCorpus"/>: Arrow IPC stream files (shards of at most about 1 GiB, so that
/// each can be mapped as one <see cref="Memory{T}"/>) with columns <c>ids</c> (list of int32: a row's kept ids, no padding)
/// and <c>byte_count</c> (int64), written record batch by record batch, and an index file written last that lists the
/// shards with their rows and SHA-256. A cache without its index, or whose index or shards do not match, is not used.
/// </summary>
/// <remarks>
/// Layout: <c>{directory}/tokenized-{key hash}.json</c> (the index) and <c>tokenized-{key hash}-{n}.arrows</c>.
/// </remarks>
internal static class CorpusArrowCache
{
    public const string FormatName = "newllm.tokenized-corpus/2";
    public static readonly TimeSpan StaleTemporaryAge = TimeSpan.FromHours(1);

    /// <summary>The index file of a key.</summary>
    public static string GetIndexPath(string directory, CorpusCacheKey key) => Path.Combine(directory, $"tokenized-{key.ShortHash()}.json");

    /// <summary>The file name of shard <paramref name="number"/> of a key.</summary>
    public static string GetShardName(CorpusCacheKey key, int number) => $"tokenized-{key.ShortHash()}-{number:D3}.arrows";

    /// <summary>The schema of the shards, with the key in its metadata.</summary>
    public static Schema CreateSchema(CorpusCacheKey key) => new Schema.Builder()
        .Field(f => f.Name("ids").DataType(new ListType(Int32Type.Default)).Nullable(false))
        .Field(f => f.Name("byte_count").DataType(Int64Type.Default).Nullable(false))
        .Metadata(key.ToMetadata())
        .Build();

    /// <summary>Opens a cache (its shards mapped into memory), after checking its index, key and every shard's SHA-256.</summary>
    /// <exception cref="FileNotFoundException">There is no index for the key (the callers look first).</exception>
    /// <exception cref="InvalidDataException">The cache does not match the key, or a file is missing or corrupt.</exception>
    public static async Task<TokenizedCorpus> OpenAsync(string directory, CorpusCacheKey key, CancellationToken cancellationToken)
    {
        string indexPath = GetIndexPath(directory, key);
        var shards = new List<(string Path, long Rows)>();
        try
        {
            var index = JsonNode.Parse(await File.ReadAllBytesAsync(indexPath, cancellationToken).ConfigureAwait(false))?.AsObject()
                ?? throw new InvalidDataException("the index is empty");
            key.Verify(k => index["key"]?[k]?.GetValue<string>(), string.Empty);

            foreach (JsonNode? entry in index["shards"]?.AsArray() ?? throw new InvalidDataException("the index lists no shards"))
            {
                string file = entry?["file"]?.GetValue<string>() ?? throw new InvalidDataException("a shard has no file name");
                if (file != Path.GetFileName(file))
                {
                    throw new InvalidDataException($"the shard '{file}' is not a plain file name");
                }

                string path = Path.Combine(directory, file);
                long rows = entry["rows"]!.GetValue<long>();
                long size = entry["size"]!.GetValue<long>();
                string sha256 = entry["sha256"]!.GetValue<string>();
                var info = new FileInfo(path);
                if (!info.Exists || info.Length != size)
                {
                    throw new InvalidDataException($"the shard '{path}' is {(info.Exists ? $"{info.Length} bytes, not {size}" : "missing")}");
                }

                await using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
                {
                    string actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
                    if (actual != sha256)
                    {
                        throw new InvalidDataException($"the shard '{path}' does not match its SHA-256");
                    }
                }

                shards.Add((path, rows));
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new InvalidDataException($"'{indexPath}' is not a valid cache index: {e.Message}", e);
        }

        var mapped = MappedTokenRows.Open(shards, key);
        return new TokenizedCorpus(mapped, key.SequenceLength, key.PadId, key.VocabSize, key.TokenizerFingerprint);
    }
}
