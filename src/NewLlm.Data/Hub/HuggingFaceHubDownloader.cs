using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;

namespace NewLlm.Data;

/// <summary>
/// Downloads files of a Hub dataset repository into the Hugging Face cache layout
/// (<c>datasets--{owner}--{name}/blobs/{sha256}</c>, <c>snapshots/{commit}/{path}</c>, <c>refs/{revision}</c>),
/// verifying size and sha256 before anything is placed in the cache.
/// </summary>
/// <remarks>
/// Differences from <c>huggingface_hub</c>: the snapshot entry is a copy of the blob, not a symbolic link (so it works
/// on every file system without privileges); a file already in the snapshot is used without asking the server whether
/// the revision moved (pin <see cref="HuggingFaceHubOptions.Revision"/> to a commit to be exact).
/// </remarks>
public sealed partial class HuggingFaceHubDownloader
{
    private static readonly HttpClient SharedClient = new(CreateHandler()) { Timeout = Timeout.InfiniteTimeSpan };

    private const int MaxRedirects = 10;

    // huggingface_hub's blobs/*.incomplete untouched this long (or RequestTimeout when longer) belong to no live download:
    // a live one writes every few seconds (10 s read timeout). Ours go once no process holds their lock, or by this age
    // where file locking is off.
    private static readonly TimeSpan MinimumStaleAge = TimeSpan.FromHours(1);

    private TimeSpan StaleAge => _options.RequestTimeout > MinimumStaleAge ? _options.RequestTimeout : MinimumStaleAge;

    private readonly HuggingFaceHubOptions _options;
    private readonly ILogger _logger;
    private readonly HttpClient _client;

    /// <summary>Creates a downloader.</summary>
    /// <param name="options">The options; validated here.</param>
    /// <param name="logger">A logger, or <see langword="null"/> for none.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is invalid.</exception>
    public HuggingFaceHubDownloader(HuggingFaceHubOptions options, ILogger? logger = null)
        : this(options, null, logger)
    {
    }

    /// <summary>A downloader on <paramref name="client"/> (from <see cref="IHttpClientFactory"/>) when given, else as the public constructor.</summary>
    internal HuggingFaceHubDownloader(HuggingFaceHubOptions options, HttpClient? client, ILogger? logger)
    {
        _options = OptionsFailures.ThrowIfInvalid(options, new HuggingFaceHubOptionsValidator());
        _logger = logger ?? NullLogger.Instance;
        _client = client ?? options.HttpClient
            ?? (options.HttpMessageHandler is { } handler
                ? new HttpClient(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan }
                : SharedClient);
    }

    /// <summary>
    /// The handler every Hub client is built on (the no-DI path's shared client and the <see cref="IHttpClientFactory"/>
    /// one): redirects are followed by the downloader, not by the handler, so that the Hub's own answer (X-Linked-Etag,
    /// X-Linked-Size, X-Repo-Commit) is read before the CDN it redirects to answers; bodies are not decompressed, so that
    /// their bytes are the ones the checksums describe.
    /// </summary>
    internal static SocketsHttpHandler CreateHandler() => new() { AutomaticDecompression = DecompressionMethods.None, AllowAutoRedirect = false };

    /// <summary>The URL of a file: <c>{endpoint}/datasets/{repo}/resolve/{revision}/{path}</c>.</summary>
    /// <param name="repositoryId">The dataset repository, <c>owner/name</c>.</param>
    /// <param name="path">The file inside the repository.</param>
    /// <returns>The URL.</returns>
    public Uri GetFileUrl(string repositoryId, string path) =>
        new($"{_options.Endpoint.TrimEnd('/')}/datasets/{repositoryId}/resolve/{Uri.EscapeDataString(_options.Revision)}/{path}");

    /// <summary>The cache folder of a dataset repository: <c>{cache}/datasets--{owner}--{name}</c>.</summary>
    /// <param name="repositoryId">The dataset repository, <c>owner/name</c>.</param>
    /// <returns>The folder path.</returns>
    public string GetRepositoryCacheDirectory(string repositoryId) =>
        Path.Combine(_options.CacheDirectory, "datasets--" + repositoryId.Replace("/", "--", StringComparison.Ordinal));

    /// <summary>Returns the local path of a file, from the cache when it is there, otherwise downloaded (unless offline).</summary>
    /// <param name="repositoryId">The dataset repository, <c>owner/name</c>.</param>
    /// <param name="path">The file inside the repository.</param>
    /// <param name="expectedSha256">The file's sha256 (hex) when known; otherwise the Hub's <c>X-Linked-Etag</c> (else <c>ETag</c>): an LFS file's sha256 or a regular one's git blob sha1.</param>
    /// <param name="expectedSize">The file's size when known; otherwise the Hub's <c>X-Linked-Size</c>.</param>
    /// <param name="progress">Receives download progress.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The path of the verified file in the snapshot folder.</returns>
    /// <remarks>
    /// Nothing is cached unless it matches every size and checksum known: the arguments, the Hub's headers (from its own
    /// answer, before any redirect to a CDN) and the <c>Content-Length</c>; a download with no evidence at all is refused.
    /// A short body, a server silent for <see cref="HuggingFaceHubOptions.ReadTimeout"/> or a request past
    /// <see cref="HuggingFaceHubOptions.RequestTimeout"/> is retried, each retry reported through
    /// <paramref name="progress"/> (<see cref="DownloadProgress.Retry"/>) and logged. Temporary files of killed downloads
    /// are removed first (ours once unlocked, huggingface_hub's <c>*.incomplete</c> after an hour).
    /// </remarks>
    /// <exception cref="FileNotFoundException">Offline and the file is not cached.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="HttpRequestException">The server refused the request (404, 401, ...) or kept failing (or sending short bodies) after the retries.</exception>
    /// <exception cref="InvalidDataException">
    /// The downloaded bytes do not match the expected size or checksum, or nothing says what they should be; or, offline,
    /// the cached copy did not match them (it is removed, and the message says why).
    /// </exception>
    public async Task<string> GetFileAsync(
        string repositoryId,
        string path,
        string? expectedSha256 = null,
        long? expectedSize = null,
        IProgress<DownloadProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        (await GetFileCoreAsync(repositoryId, path, expectedSha256, expectedSize, progress, cancellationToken).ConfigureAwait(false)).Path;

    /// <summary>
    /// Returns the local path of a file that <see cref="ListFilesAsync"/> listed, as <c>GetFileAsync</c> with its listed
    /// size and, for a file in LFS, sha256 (a regular git file is checked against the Hub's git blob sha1 <c>ETag</c>).
    /// </summary>
    /// <param name="repositoryId">The dataset repository, <c>owner/name</c>.</param>
    /// <param name="file">The listed file.</param>
    /// <param name="progress">Receives download progress, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The path of the verified file in the snapshot folder.</returns>
    /// <exception cref="FileNotFoundException">Offline and the file is not cached.</exception>
    /// <exception cref="HttpRequestException">The server refused the request or kept failing after the retries.</exception>
    /// <exception cref="InvalidDataException">The downloaded bytes do not match the listed size or sha256; or, offline, the cached copy did not (it is removed, and the message says why).</exception>
    public Task<string> GetFileAsync(string repositoryId, HubFileInfo file, IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(file);
        return GetFileAsync(repositoryId, file.Path, file.Sha256, file.Size, progress, cancellationToken);
    }

    /// <summary>
    /// Removes a file from the cache, its snapshot entry for <see cref="HuggingFaceHubOptions.Revision"/> and its blob (a
    /// symbolic link's target, or <c>blobs/{sha256}</c> of a copy), so that the next <c>GetFileAsync</c> downloads it again.
    /// </summary>
    /// <param name="repositoryId">The dataset repository, <c>owner/name</c>.</param>
    /// <param name="path">The file inside the repository.</param>
    /// <returns>Whether there was a cached file to remove.</returns>
    /// <exception cref="IOException">The file cannot be deleted.</exception>
    public bool DeleteCachedFile(string repositoryId, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(repositoryId);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string cached = GetSnapshotPath(repositoryId, path);
        var entry = new FileInfo(cached);
        if (!entry.Exists && entry.LinkTarget is null)
        {
            return false;
        }

        string? blob = FindBlob(repositoryId, cached);
        File.Delete(cached);
        if (blob is not null && File.Exists(blob))
        {
            File.Delete(blob);
        }

        _logger.LogInformation(DataLogEvents.CachedFileRemoved, "Removed {Path} (blob {Blob}) from the cache", cached, blob ?? "none");
        return true;
    }

    /// <summary>The file's path in the snapshot of the revision (resolved through <c>refs</c>), whether or not it exists.</summary>
    internal string GetSnapshotPath(string repositoryId, string path)
    {
        string repoDir = GetRepositoryCacheDirectory(repositoryId);
        string refFile = Path.Combine(repoDir, "refs", _options.Revision);
        string snapshotName = File.Exists(refFile) ? File.ReadAllText(refFile).Trim() : _options.Revision;
        return Path.Combine(repoDir, "snapshots", snapshotName, path);
    }

    /// <summary>A snapshot entry's blob: a symbolic link's target, or <c>blobs/{sha256}</c> of a copy; <see langword="null"/> when none.</summary>
    internal string? FindBlob(string repositoryId, string snapshotFile)
    {
        var entry = new FileInfo(snapshotFile);
        if (entry.LinkTarget is { } target)
        {
            return Path.GetFullPath(Path.Combine(Path.GetDirectoryName(snapshotFile)!, target));
        }

        if (!entry.Exists)
        {
            return null;
        }

        using var stream = File.OpenRead(snapshotFile);
        string blob = Path.Combine(GetRepositoryCacheDirectory(repositoryId), "blobs", Convert.ToHexStringLower(SHA256.HashData(stream)));
        return File.Exists(blob) ? blob : null;
    }

    /// <summary><c>GetFileAsync</c>, also saying whether the file came from the cache.</summary>
    internal async Task<(string Path, bool FromCache)> GetFileCoreAsync(
        string repositoryId,
        string path,
        string? expectedSha256,
        long? expectedSize,
        IProgress<DownloadProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(repositoryId);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string repoDir = GetRepositoryCacheDirectory(repositoryId);
        string cached = GetSnapshotPath(repositoryId, path);
        string? removedBecause = null;
        if (File.Exists(cached))
        {
            long cachedSize = new FileInfo(cached).Length;
            if (expectedSize is { } size && cachedSize != size)
            {
                removedBecause = $"its size is {cachedSize} bytes, not the expected {size}";
            }
            else if (expectedSha256 is not null && await SourceFiles.Sha256Async(cached, cancellationToken).ConfigureAwait(false) is var cachedSha
                && !string.Equals(cachedSha, expectedSha256, StringComparison.OrdinalIgnoreCase))
            {
                removedBecause = $"its sha256 is {cachedSha}, not the expected {expectedSha256.ToLowerInvariant()}";
            }
            else
            {
                _logger.LogDebug("Using cached {Path}", cached);
                return (cached, true);
            }

            _logger.LogWarning(DataLogEvents.CachedFileFailedCheck, "Cached {Path} failed its check ({Reason}); it is removed", cached, removedBecause);
            File.Delete(cached);
        }

        if (_options.Offline && removedBecause is not null)
        {
            throw new InvalidDataException(
                $"'{repositoryId}/{path}' at revision '{_options.Revision}' was in the cache as '{cached}', but {removedBecause} (it was damaged or changed "
                + "after it was downloaded), so it was removed. HuggingFaceHubOptions.Offline is set (by default from HF_HUB_OFFLINE), so it is not "
                + "downloaded again: load with HuggingFaceHubOptions.Offline false (unset HF_HUB_OFFLINE) to download it afresh.");
        }

        if (_options.Offline)
        {
            throw new FileNotFoundException(
                $"HuggingFaceHubOptions.Offline is set (by default from HF_HUB_OFFLINE) and '{repositoryId}/{path}' at revision '{_options.Revision}' is not in the cache '{_options.CacheDirectory}' (looked for '{cached}').",
                cached);
        }

        DeleteStaleTemporaryFiles(repoDir, Path.GetDirectoryName(cached)!);
        var url = GetFileUrl(repositoryId, path);
        string snapshot = await WithRetriesAsync(
            url,
            path,
            "Downloading",
            $"GET '{url}' for '{path}'",
            clock => DownloadOnceAsync(url, repoDir, path, expectedSha256, expectedSize, progress, clock),
            retry => progress?.Report(new DownloadProgress(path, 0, expectedSize) { Retry = retry }),
            cancellationToken).ConfigureAwait(false);
        return (snapshot, false);
    }

    /// <summary>
    /// Runs <paramref name="attempt"/> (one request, bounded by its <see cref="RequestClock"/>) through the retry pipeline
    /// until it succeeds; the last transient failure becomes an <see cref="HttpRequestException"/> naming the URL and the
    /// number of attempts. <paramref name="action"/> is the messages' verb (<c>Downloading</c>, <c>Listing</c>),
    /// <paramref name="request"/> names the request in a timeout's message; the caller's cancellation is never retried.
    /// </summary>
    private async Task<T> WithRetriesAsync<T>(
        Uri url, string name, string action, string request, Func<RequestClock, Task<T>> attempt, Action<DownloadRetry>? onRetry, CancellationToken cancellationToken)
    {
        var retries = RetryPipeline(name, (retry, failure) =>
        {
            _logger.LogWarning(DataLogEvents.HubRequestFailed, failure, "{Action} {Url} failed; {Retry}", action, url, retry.ToString());
            onRetry?.Invoke(retry);
        });
        try
        {
            return await retries.ExecuteAsync(
                async token =>
                {
                    using var clock = new RequestClock(_options, token);
                    try
                    {
                        return await attempt(clock).ConfigureAwait(false);
                    }
                    catch (Exception e) when (clock.TimedOut && e is OperationCanceledException or IOException or HttpRequestException)
                    {
                        throw clock.Describe(request, e);
                    }
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception failure) when (IsTransient(failure, cancellationToken))
        {
            throw new HttpRequestException(
                $"{action} '{url}' failed after {_options.MaxRetries + 1} attempt(s): {failure.Message}", failure, (failure as HttpRequestException)?.StatusCode);
        }
    }

    /// <summary>
    /// The one retry policy of every Hub request: a transient failure (<see cref="IsTransient"/>) is retried up to
    /// <see cref="HuggingFaceHubOptions.MaxRetries"/> times, each wait about twice the one before from
    /// <see cref="HuggingFaceHubOptions.InitialRetryDelay"/>, with jitter, or the server's <c>Retry-After</c> when it sent
    /// one; each retry is logged and reported (<see cref="DownloadRetry"/>).
    /// </summary>
    /// <remarks>
    /// Retries live here, around the whole request (the answer, the redirects and the body read and verified), and nowhere
    /// else: a retrying <see cref="HttpMessageHandler"/> (a resilience handler on the <see cref="IHttpClientFactory"/>
    /// client) sees only the exchange up to the headers, so it could not retry a short or stalled body and would multiply
    /// the attempts of everything else. Each attempt has its own limits (<see cref="RequestClock"/>: the request deadline
    /// <see cref="HuggingFaceHubOptions.RequestTimeout"/> and the stalled-read timeout
    /// <see cref="HuggingFaceHubOptions.ReadTimeout"/>); a size or checksum mismatch is never retried.
    /// </remarks>
    private ResiliencePipeline RetryPipeline(string name, Action<DownloadRetry, Exception> report) => _options.MaxRetries == 0
        ? ResiliencePipeline.Empty
        : new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            MaxRetryAttempts = _options.MaxRetries,
            Delay = _options.InitialRetryDelay,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && IsTransient(e, args.Context.CancellationToken)),
            DelayGenerator = args => ValueTask.FromResult(args.Outcome.Exception?.Data[RetryAfterKey] as TimeSpan?),
            OnRetry = args =>
            {
                report(new DownloadRetry(name, args.AttemptNumber + 2, _options.MaxRetries + 1, args.RetryDelay, args.Outcome.Exception!.Message), args.Outcome.Exception);
                return default;
            },
        }).Build();

    /// <summary>The key under which a refused request's exception carries the server's <c>Retry-After</c> (a <see cref="TimeSpan"/>).</summary>
    private const string RetryAfterKey = "Retry-After";

    /// <summary>An <see cref="HttpRequestException"/> for a refused <paramref name="response"/>, carrying its <c>Retry-After</c> for the retry pipeline.</summary>
    private static HttpRequestException Refused(HttpResponseMessage response, string message)
    {
        var e = new HttpRequestException(message, null, response.StatusCode);
        var after = response.Headers.RetryAfter;
        if ((after?.Delta ?? after?.Date - DateTimeOffset.UtcNow) is { } delay)
        {
            e.Data[RetryAfterKey] = delay < TimeSpan.Zero ? TimeSpan.Zero : delay;
        }

        return e;
    }

    /// <summary>
    /// Removes temporary files of killed downloads where this one writes: ours once unlocked
    /// (<see cref="AtomicFile.DeleteOrphaned"/>); huggingface_hub's <c>blobs/*.incomplete</c> (locked through separate
    /// files) when untouched for <see cref="StaleAge"/>.
    /// </summary>
    private void DeleteStaleTemporaryFiles(string repoDir, string snapshotFolder)
    {
        var age = StaleAge;
        string blobs = Path.Combine(repoDir, "blobs");
        int removed = AtomicFile.DeleteOrphaned(blobs, age) + AtomicFile.DeleteOrphaned(Path.Combine(repoDir, "refs"), age)
            + AtomicFile.DeleteOrphaned(snapshotFolder, age);
        if (Directory.Exists(blobs))
        {
            var limit = DateTime.UtcNow - age;
            foreach (string incomplete in Directory.EnumerateFiles(blobs, "*.incomplete"))
            {
                try
                {
                    if (File.GetLastWriteTimeUtc(incomplete) < limit)
                    {
                        File.Delete(incomplete);
                        removed++;
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    _logger.LogDebug(e, "Could not remove the stale {Path}", incomplete);
                }
            }
        }

        if (removed > 0)
        {
            _logger.LogInformation(DataLogEvents.StaleDownloadsRemoved, "Removed {Count} temporary file(s) left by killed downloads in {Directory}", removed, repoDir);
        }
    }

    private static bool IsTransient(Exception e, CancellationToken cancellationToken) => e switch
    {
        OperationCanceledException => !cancellationToken.IsCancellationRequested, // a request timeout, not the caller
        HttpRequestException { StatusCode: null } => true,
        HttpRequestException { StatusCode: { } status } => status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500,
        IOException and not FileNotFoundException => true,
        TimeoutException => true, // a stalled connection or a request past its deadline (RequestClock)
        _ => false,
    };
}
