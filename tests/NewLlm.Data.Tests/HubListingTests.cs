using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NewLlm.Data.Tests.Infrastructure;
using NewLlm.Tests;

namespace NewLlm.Data.Tests;

/// <summary>Listing a repository folder through the Hub's tree API (pages, errors, retries), offline from the cache, and downloading what was listed.</summary>
public class HubListingTests
{
    private const string Repo = "HuggingFaceH4/ultrachat_200k";
    private const string TreePath = "/api/datasets/HuggingFaceH4/ultrachat_200k/tree/main/data?recursive=true";
    private const string Train0 = "data/train_sft-00000-of-00002-a1b2c3d4e5f60718.parquet";
    private const string Train1 = "data/train_sft-00001-of-00002-0f1e2d3c4b5a6978.parquet";
    private const string Test0 = "data/test_sft-00000-of-00001-99aa88bb77cc66dd.parquet";
    private const string Readme = "data/extra/notes.txt";

    private static readonly Dictionary<string, byte[]> Contents = new()
    {
        [Train0] = Encoding.UTF8.GetBytes("PAR1 train shard zero PAR1"),
        [Train1] = Encoding.UTF8.GetBytes("PAR1 train shard one, a little longer PAR1"),
        [Test0] = Encoding.UTF8.GetBytes("PAR1 test PAR1"),
        [Readme] = Encoding.UTF8.GetBytes("a regular git file\n"),
    };

    private static string Sha256Of(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static string GitSha1Of(byte[] bytes) => Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {bytes.Length}\0"), .. bytes]));

    private static HuggingFaceHubOptions Options(LocalHttpServer server, TempDirectory cache) => server.HubOptions(cache);

    private static HuggingFaceHubOptions OfflineOptions(TempDirectory cache) =>
        new() { Endpoint = "http://127.0.0.1:9", CacheDirectory = cache.Path, Token = null, Offline = true };

    /// <summary>A tree entry as the Hub sends it: an LFS file (with <c>lfs</c>), a regular file, or a folder.</summary>
    private static object Entry(string path, bool lfs = true, string? sha256 = null) => !Contents.TryGetValue(path, out var bytes)
        ? new { type = "directory", oid = new string('d', 40), size = 0, path }
        : lfs
            ? new { type = "file", oid = new string('e', 40), size = bytes.Length, path, lfs = new { oid = sha256 ?? Sha256Of(bytes), size = bytes.Length, pointerSize = 134 } }
            : (object)new { type = "file", oid = GitSha1Of(bytes), size = bytes.Length, path };

    private static byte[] Json(params object[] entries) => JsonSerializer.SerializeToUtf8Bytes(entries);

    private static ServerResponse Page(byte[] body, string? next = null) =>
        new(200, body, next is null ? null : new Dictionary<string, string> { ["Link"] = $"<{next}>; rel=\"next\"" });

    /// <summary>A Hub: the listing in two pages (<c>cursor=2</c> the second) and every file at <c>resolve/main</c>, with only a Content-Length as evidence.</summary>
    private static LocalHttpServer TwoPageHub(Func<string, string?>? sha256Of = null)
    {
        LocalHttpServer? server = null;
        server = new LocalHttpServer((path, _) =>
        {
            if (path == TreePath)
            {
                return Page(Json(Entry("data/extra"), Entry(Train1, sha256: sha256Of?.Invoke(Train1)), Entry(Readme, lfs: false)), $"{server!.Endpoint}{TreePath}&cursor=2");
            }

            if (path == TreePath + "&cursor=2")
            {
                return Page(Json(Entry(Test0, sha256: sha256Of?.Invoke(Test0)), Entry(Train0, sha256: sha256Of?.Invoke(Train0))));
            }

            const string resolve = "/datasets/HuggingFaceH4/ultrachat_200k/resolve/main/";
            return path.StartsWith(resolve, StringComparison.Ordinal) && Contents.TryGetValue(path[resolve.Length..], out var bytes)
                ? new ServerResponse(200, bytes)
                : new ServerResponse(404, []);
        });
        return server;
    }

    private static string[] CachedFiles(TempDirectory cache) =>
        Directory.Exists(cache.Path) ? Directory.GetFiles(cache.Path, "*", SearchOption.AllDirectories) : [];

    [Fact]
    public async Task TheListingFollowsTheLinkHeaderSkipsFoldersSortsByPathAndTakesTheSha256FromLfs()
    {
        using var server = TwoPageHub();
        using var cache = new TempDirectory();
        var options = Options(server, cache);
        options.Token = "hf_secret";

        var files = await new HuggingFaceHubDownloader(options).ListFilesAsync(Repo, "data/");

        Assert.Equal(new[] { Readme, Test0, Train0, Train1 }, files.Select(f => f.Path));
        Assert.Equal(new HubFileInfo(Train1, Contents[Train1].Length, Sha256Of(Contents[Train1])), files[3]);
        Assert.Equal(new HubFileInfo(Readme, Contents[Readme].Length, null), files[0]); // a regular git file: no sha256
        Assert.Equal(new (string, string?)[] { (TreePath, "Bearer hf_secret"), (TreePath + "&cursor=2", "Bearer hf_secret") }, server.Requests.ToArray());
    }

    [Fact]
    public async Task TheWholeRepositoryIsListedWithoutAFolderInTheUrl()
    {
        using var server = new LocalHttpServer((_, _) => Page(Json(Entry(Test0))));
        using var cache = new TempDirectory();
        var downloader = new HuggingFaceHubDownloader(Options(server, cache));

        var files = await downloader.ListFilesAsync(Repo, string.Empty);

        Assert.Equal(Test0, Assert.Single(files).Path);
        Assert.True(server.Requests.TryPeek(out var request));
        Assert.Equal("/api/datasets/HuggingFaceH4/ultrachat_200k/tree/main?recursive=true", request.Path);
        Assert.True(File.Exists(cache.Combine("datasets--HuggingFaceH4--ultrachat_200k", "listings", "main", "%2F.json")));
    }

    [Theory]
    [InlineData("<https://h/a>; rel=\"prev\", <https://h/b?cursor=x>; rel=\"next\"", "https://h/b?cursor=x")]
    [InlineData("</api/next?cursor=y>; rel=next", "http://127.0.0.1/api/next?cursor=y")]
    [InlineData("<https://h/c>; title=\"a; b\"; rel=\"last next\"", "https://h/c")]
    [InlineData("<https://h/a>; rel=\"prev\"", null)]
    public void TheNextPageIsTheLinkWhoseRelIsNext(string link, string? expected)
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK);
        response.Headers.TryAddWithoutValidation("Link", link);
        Assert.Equal(expected, HuggingFaceHubDownloader.FindNextLink(response, new Uri("http://127.0.0.1/api/first"))?.AbsoluteUri);
    }

    [Fact]
    public async Task ANotFoundListingNamesTheRepositoryAndRevisionAndTheTokenAndIsNotRetried()
    {
        using var server = new LocalHttpServer((_, _) => new ServerResponse(404, [], new Dictionary<string, string> { ["X-Error-Message"] = "Repository not found" }));
        using var cache = new TempDirectory();
        var options = Options(server, cache);
        options.Revision = "v1.0";

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => new HuggingFaceHubDownloader(options).ListFilesAsync(Repo, "data"));

        Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
        Assert.Contains($"'{Repo}' or revision 'v1.0'", e.Message, StringComparison.Ordinal);
        Assert.Contains("not found, or it is gated/private: set HF_TOKEN", e.Message, StringComparison.Ordinal);
        Assert.Contains("The Hub says: Repository not found", e.Message, StringComparison.Ordinal);
        Assert.Contains(server.Endpoint + "/api/datasets/HuggingFaceH4/ultrachat_200k/tree/v1.0/data", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.RequestCount);
        Assert.Empty(CachedFiles(cache));
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    public async Task ARefusedListingSaysTheRepositoryIsGatedOrPrivateAndNamesTheToken(int status)
    {
        using var server = new LocalHttpServer((_, _) => new ServerResponse(status, []));
        using var cache = new TempDirectory();

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => new HuggingFaceHubDownloader(Options(server, cache)).ListFilesAsync(Repo, "data"));

        Assert.Equal((HttpStatusCode)status, e.StatusCode);
        Assert.Contains($"'{Repo}' at revision 'main' refused", e.Message, StringComparison.Ordinal);
        Assert.Contains("gated/private", e.Message, StringComparison.Ordinal);
        Assert.Contains("HF_TOKEN (HuggingFaceHubOptions.Token)", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.RequestCount);
    }

    [Theory]
    [InlineData("[{\"type\":\"file\",", "not valid JSON")]
    [InlineData("{\"error\":\"Invalid credentials\"}", "not a JSON array")]
    [InlineData("[{\"type\":\"file\",\"path\":\"data/../../etc/passwd\",\"size\":1}]", "not a relative file path under 'data'")]
    [InlineData("[{\"type\":\"file\",\"path\":\"other/x.parquet\",\"size\":1}]", "not a relative file path under 'data'")]
    [InlineData("[{\"type\":\"file\",\"path\":\"data/x.parquet\",\"size\":1,\"lfs\":{\"oid\":\"abc\",\"size\":1}}]", "no sha256 in its lfs.oid")]
    [InlineData("[{\"type\":\"file\",\"path\":\"data/x.parquet\"}]", "has no size")]
    public async Task AMalformedListingIsInvalidDataNamingTheUrlAndNothingIsCached(string body, string expected)
    {
        using var server = new LocalHttpServer((_, _) => new ServerResponse(200, Encoding.UTF8.GetBytes(body)));
        using var cache = new TempDirectory();

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => new HuggingFaceHubDownloader(Options(server, cache)).ListFilesAsync(Repo, "data"));

        Assert.Contains(server.Endpoint + TreePath, e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.RequestCount);
        Assert.Empty(CachedFiles(cache));
    }

    [Fact]
    public async Task APageThatLinksBackToAnEarlierPageIsRefused()
    {
        LocalHttpServer? server = null;
        server = new LocalHttpServer((_, _) => Page(Json(Entry(Test0)), server!.Endpoint + TreePath));
        using var disposeServer = server;
        using var cache = new TempDirectory();

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => new HuggingFaceHubDownloader(Options(server, cache)).ListFilesAsync(Repo, "data"));

        Assert.Contains("never end", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.RequestCount);
    }

    [Theory]
    [InlineData("../data")]
    [InlineData("data//x")]
    [InlineData("data\\x")]
    public async Task AFolderThatIsNoRelativePathIsAnArgumentError(string prefix)
    {
        using var cache = new TempDirectory();
        await Assert.ThrowsAsync<ArgumentException>(() => new HuggingFaceHubDownloader(OfflineOptions(cache)).ListFilesAsync(Repo, prefix));
    }

    [Fact]
    public async Task AServerErrorIsRetriedAndLoggedThenTheListingSucceeds()
    {
        using var server = new LocalHttpServer((_, n) => n == 1 ? new ServerResponse(503, []) : Page(Json(Entry(Test0))));
        using var cache = new TempDirectory();
        var logger = new ListLogger();

        var files = await new HuggingFaceHubDownloader(Options(server, cache), logger).ListFilesAsync(Repo, "data");

        Assert.Equal(Test0, Assert.Single(files).Path);
        Assert.Equal(2, server.RequestCount);
        Assert.Contains(logger.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning
            && System.Text.RegularExpressions.Regex.IsMatch(e.Message, $@"retrying the listing of {Repo}/data in \d+ ms \(attempt 2 of 3\)") // 10 ms with jitter
            && e.Message.Contains("503", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AListingThatKeepsFailingFailsAfterTheRetriesNamingTheUrl()
    {
        using var server = new LocalHttpServer((_, _) => new ServerResponse(502, []));
        using var cache = new TempDirectory();

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => new HuggingFaceHubDownloader(Options(server, cache)).ListFilesAsync(Repo, "data"));

        Assert.StartsWith($"Listing '{server.Endpoint}{TreePath}' failed after 3 attempt(s)", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, server.RequestCount);
    }

    [Fact]
    public async Task OfflineTheListingCachedByAnOnlineListingIsReturned()
    {
        using var cache = new TempDirectory();
        IReadOnlyList<HubFileInfo> online;
        using (var server = TwoPageHub())
        {
            online = await new HuggingFaceHubDownloader(Options(server, cache)).ListFilesAsync(Repo, "data");
        }

        string listing = cache.Combine("datasets--HuggingFaceH4--ultrachat_200k", "listings", "main", "data.json");
        Assert.True(File.Exists(listing));
        Assert.Single(CachedFiles(cache)); // no temporary file left
        using (var json = JsonDocument.Parse(File.ReadAllBytes(listing)))
        {
            var root = json.RootElement;
            Assert.Equal((1, Repo, "main", "data", 4), (root.GetProperty("version").GetInt32(), root.GetProperty("repository").GetString(),
                root.GetProperty("revision").GetString(), root.GetProperty("pathPrefix").GetString(), root.GetProperty("files").GetArrayLength()));
            Assert.Equal(Sha256Of(Contents[Test0]), root.GetProperty("files")[1].GetProperty("sha256").GetString());
        }

        var offline = await new HuggingFaceHubDownloader(OfflineOptions(cache)).ListFilesAsync(Repo, "/data");

        Assert.Equal(online, offline);
        Assert.Null(offline.Single(f => f.Path == Readme).Sha256);
        var other = new HuggingFaceHubOptions { Endpoint = "http://127.0.0.1:9", CacheDirectory = cache.Path, Offline = true, Revision = "v2" };
        await Assert.ThrowsAsync<FileNotFoundException>(() => new HuggingFaceHubDownloader(other).ListFilesAsync(Repo, "data")); // keyed by revision
    }

    [Fact]
    public async Task OfflineWithoutACachedListingTheSnapshotFilesOfTheRevisionAreListed()
    {
        const string commit = "0123456789abcdef0123456789abcdef01234567";
        using var cache = new TempDirectory();
        string repo = cache.Combine("datasets--HuggingFaceH4--ultrachat_200k");
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), commit);
        string snapshot = Path.Combine(repo, "snapshots", commit);
        void Put(string path, byte[] bytes)
        {
            string file = Path.Combine(snapshot, path);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllBytes(file, bytes);
        }

        Put(Train0, Contents[Train0]);
        Put(Readme, Contents[Readme]);
        Put("data/.hidden", [1, 2]);
        Put($"data/.{Path.GetFileName(Train1)}.{Guid.NewGuid():N}.tmp", [1]); // a download in progress
        Put("README.md", [1]); // outside the folder
        // huggingface_hub's own layout: the snapshot entry is a symbolic link to the blob.
        string blob = Path.Combine(repo, "blobs", Sha256Of(Contents[Test0]));
        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        File.WriteAllBytes(blob, Contents[Test0]);
        File.CreateSymbolicLink(Path.Combine(snapshot, Test0), Path.Combine("..", "..", "..", "blobs", Sha256Of(Contents[Test0])));

        var files = await new HuggingFaceHubDownloader(OfflineOptions(cache)).ListFilesAsync(Repo, "data");

        HubFileInfo[] expected =
            [new("data/.hidden", 2, null), new(Readme, Contents[Readme].Length, null), new(Test0, Contents[Test0].Length, null), new(Train0, Contents[Train0].Length, null)];
        Assert.Equal(expected, files);
    }

    [Fact]
    public async Task OfflineWithNothingCachedTheMessageSaysTheListingIsNotCachedAndWhatToDo()
    {
        using var cache = new TempDirectory();

        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => new HuggingFaceHubDownloader(OfflineOptions(cache)).ListFilesAsync(Repo, "data"));

        Assert.Contains("HF_HUB_OFFLINE", e.Message, StringComparison.Ordinal);
        Assert.Contains($"the listing of 'data' of '{Repo}' at revision 'main' is not cached", e.Message, StringComparison.Ordinal);
        Assert.Contains("List the files once online", e.Message, StringComparison.Ordinal);
        Assert.Equal(cache.Combine("datasets--HuggingFaceH4--ultrachat_200k", "listings", "main", "data.json"), e.FileName);
    }

    [Fact]
    public async Task EachListedFileIsDownloadedVerifiedByItsListedSha256AndSizeAndThenServedFromTheCache()
    {
        using var server = TwoPageHub();
        using var cache = new TempDirectory();
        var downloader = new HuggingFaceHubDownloader(Options(server, cache));

        var files = await downloader.ListFilesAsync(Repo, "data");
        foreach (var file in files)
        {
            string local = await downloader.GetFileAsync(Repo, file, null, CancellationToken.None);
            Assert.Equal(Contents[file.Path], File.ReadAllBytes(local));
            Assert.Equal(cache.Combine(["datasets--HuggingFaceH4--ultrachat_200k", "snapshots", "main", .. file.Path.Split('/')]), local);
        }

        int requests = server.RequestCount;
        Assert.Equal(2 + files.Count, requests);
        foreach (var file in files)
        {
            await downloader.GetFileAsync(Repo, file, null, CancellationToken.None);
        }

        Assert.Equal(requests, server.RequestCount); // verified cached copies, no request

        var offline = new HuggingFaceHubDownloader(OfflineOptions(cache));
        foreach (var file in await offline.ListFilesAsync(Repo, "data"))
        {
            Assert.Equal(Contents[file.Path], File.ReadAllBytes(await offline.GetFileAsync(Repo, file, null, CancellationToken.None)));
        }
    }

    [Fact]
    public async Task AListedFileWhoseBytesDoNotMatchTheListedSha256IsRefusedAndNotCached()
    {
        string wrong = new('a', 64);
        using var server = TwoPageHub(path => path == Train0 ? wrong : null);
        using var cache = new TempDirectory();
        var downloader = new HuggingFaceHubDownloader(Options(server, cache));
        var files = await downloader.ListFilesAsync(Repo, "data");
        var train0 = files.Single(f => f.Path == Train0);
        Assert.Equal(wrong, train0.Sha256);

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => downloader.GetFileAsync(Repo, train0, null, CancellationToken.None));

        Assert.Contains($"expected {wrong} (the expected sha256)", e.Message, StringComparison.Ordinal);
        Assert.Contains(Train0, e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(cache.Combine(["datasets--HuggingFaceH4--ultrachat_200k", "snapshots", "main", .. Train0.Split('/')])));
        Assert.Empty(Directory.GetFiles(cache.Combine("datasets--HuggingFaceH4--ultrachat_200k", "blobs")));
    }

    [Fact]
    public async Task ACachedFileThatNoLongerMatchesTheListingIsDownloadedAgain()
    {
        using var server = TwoPageHub();
        using var cache = new TempDirectory();
        var downloader = new HuggingFaceHubDownloader(Options(server, cache));
        var files = await downloader.ListFilesAsync(Repo, "data");
        var (test0, readme) = (files.Single(f => f.Path == Test0), files.Single(f => f.Path == Readme));
        string local = await downloader.GetFileAsync(Repo, test0, null, CancellationToken.None);
        string localReadme = await downloader.GetFileAsync(Repo, readme, null, CancellationToken.None);
        int requests = server.RequestCount;

        File.WriteAllBytes(local, [.. Contents[Test0].Reverse()]); // same size, another sha256
        Assert.Equal(Contents[Test0], File.ReadAllBytes(await downloader.GetFileAsync(Repo, test0, null, CancellationToken.None)));
        File.WriteAllBytes(localReadme, [.. Contents[Readme], 0]); // a regular file (no listed sha256) of another size
        Assert.Equal(Contents[Readme], File.ReadAllBytes(await downloader.GetFileAsync(Repo, readme, null, CancellationToken.None)));

        Assert.Equal(requests + 2, server.RequestCount);
    }
}
