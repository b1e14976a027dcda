using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NewLlm.Data.Tests.Infrastructure;
using NewLlm.Tests;

namespace NewLlm.Data.Tests;

/// <summary>
/// The dialogue sets from a Hub on 127.0.0.1: a set with one known file name (Dolly), one whose files are listed first
/// (UltraChat's <c>train_*.jsonl</c>), verified, cached, and read again offline.
/// </summary>
public sealed class DialogueHubTests
{
    private static readonly byte[] Dolly = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 20).Select(i =>
        JsonSerializer.Serialize(new { instruction = $"say {i}", context = string.Empty, response = $"said {i}", category = "x" }) + "\n")));

    private static readonly byte[] Chat0 = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 12).Select(i => $"{{\"id\": \"{i}\", \"data\": [\"hello {i}\", \"hi\"]}}\n")));
    private static readonly byte[] Chat1 = Encoding.UTF8.GetBytes("{\"id\": \"x\", \"data\": [\"last one\"]}\n");

    [Fact]
    public async Task DollyIsDownloadedVerifiedCachedAndReadOffline()
    {
        using var cache = new TempDirectory();
        using var server = new LocalHttpServer((path, _) => path == "/datasets/databricks/databricks-dolly-15k/resolve/main/databricks-dolly-15k.jsonl"
            ? new ServerResponse(200, Dolly, Evidence(Dolly))
            : new ServerResponse(404, []));
        var source = await DialogueSource.FromHubAsync(DialogueDataset.Dolly, Online(server, cache));
        using (var corpus = await DialogueCorpus.LoadAsync(source, Path.Combine(cache.Path, "tokens")))
        {
            Assert.Equal((18, 2), (corpus.Train.Count, corpus.Test.Count));
        }

        int requests = server.RequestCount;
        var offline = await DialogueSource.FromHubAsync(DialogueDataset.Dolly, new HuggingFaceHubOptions { Endpoint = "http://127.0.0.1:9", CacheDirectory = cache.Path, Offline = true });
        Assert.Equal(source.TrainFiles, offline.TrainFiles);
        Assert.Equal(requests, server.RequestCount);
    }

    [Fact]
    public async Task UltraChatsFilesAreListedThenEachDownloadedAndAWrongOneRefused()
    {
        using var cache = new TempDirectory();
        bool corrupt = false;
        using var server = new LocalHttpServer((path, _) => path switch
        {
            "/api/datasets/stingning/ultrachat/tree/main?recursive=true" => new ServerResponse(200, JsonSerializer.SerializeToUtf8Bytes(new object[]
            {
                Entry("README.md", Encoding.UTF8.GetBytes("readme")), Entry("train_1.jsonl", Chat1), Entry("train_0.jsonl", Chat0),
            })),
            "/datasets/stingning/ultrachat/resolve/main/train_0.jsonl" => new ServerResponse(200, corrupt ? [.. Chat0[..^2], (byte)'x', (byte)'\n'] : Chat0),
            "/datasets/stingning/ultrachat/resolve/main/train_1.jsonl" => new ServerResponse(200, Chat1),
            _ => new ServerResponse(404, []),
        });

        corrupt = true; // the server sends other bytes than the listing's sha256 says: refused, nothing cached
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => DialogueSource.FromHubAsync(DialogueDataset.UltraChat, Online(server, cache)));
        Assert.Contains("train_0.jsonl", e.Message, StringComparison.Ordinal);

        corrupt = false;
        var source = await DialogueSource.FromHubAsync(DialogueDataset.UltraChat, Online(server, cache));
        Assert.Equal(["train_0.jsonl", "train_1.jsonl"], source.TrainFiles.Select(Path.GetFileName));
        using var corpus = await DialogueCorpus.LoadAsync(source, Path.Combine(cache.Path, "tokens"));
        Assert.Equal(13, corpus.Train.Count + corpus.Test.Count);
    }

    private static HuggingFaceHubOptions Online(LocalHttpServer server, TempDirectory cache) => new()
    {
        Endpoint = server.Endpoint, CacheDirectory = cache.Path, Token = null, Offline = false, MaxRetries = 0, InitialRetryDelay = TimeSpan.FromMilliseconds(1),
    };

    private static Dictionary<string, string> Evidence(byte[] bytes) => new()
    {
        ["X-Linked-Etag"] = $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))}\"",
        ["X-Linked-Size"] = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static object Entry(string path, byte[] bytes) =>
        new { type = "file", oid = new string('e', 40), size = bytes.Length, path, lfs = new { oid = Convert.ToHexStringLower(SHA256.HashData(bytes)), size = bytes.Length, pointerSize = 134 } };
}
