using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

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
public sealed class HuggingFaceHubDownloader
{
    private static readonly HttpClient SharedClient = new(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private readonly HuggingFaceHubOptions _options;
    private readonly ILogger _logger;
    private readonly HttpClient _client;

    /// <summary>Creates a downloader.</summary>
    /// <param name="options">The options; validated here.</param>
    /// <param name="logger">A logger, or <see langword="null"/> for none.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is invalid.</exception>
    public HuggingFaceHubDownloader(HuggingFaceHubOptions options, ILogger? logger = null)
    {
        _options = OptionsFailures.ThrowIfInvalid(options, new HuggingFaceHubOptionsValidator());
        _logger = logger ?? NullLogger.Instance;
        _client = options.HttpClient
            ?? (options.HttpMessageHandler is { } handler
                ? new HttpClient(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan }
                : SharedClient);
    }

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

    /// <summary>
    /// Returns the local path of a file, from the cache when it is there, otherwise downloaded (unless offline).
    /// </summary>
    /// <param name="repositoryId">The dataset repository, <c>owner/name</c>.</param>
    /// <param name="path">The file inside the repository.</param>
    /// <param name="expectedSha256">The file's sha256 (hex) when known; otherwise the server's <c>X-Linked-Etag</c> is used when it is a sha256.</param>
    /// <param name="expectedSize">The file's size when known.</param>
    /// <param name="progress">Receives download progress.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The path of the verified file in the snapshot folder.</returns>
    /// <exception cref="FileNotFoundException">Offline and the file is not cached.</exception>
    /// <exception cref="HttpRequestException">The server refused the request (404, 401, ...) or kept failing after the retries.</exception>
    /// <exception cref="InvalidDataException">The downloaded bytes do not match the expected size or checksum.</exception>
    public async Task<string> GetFileAsync(
        string repositoryId,
        string path,
        string? expectedSha256 = null,
        long? expectedSize = null,
        IProgress<DownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(repositoryId);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string repoDir = GetRepositoryCacheDirectory(repositoryId);
        string refFile = Path.Combine(repoDir, "refs", _options.Revision);
        string snapshotName = File.Exists(refFile)
            ? (await File.ReadAllTextAsync(refFile, cancellationToken).ConfigureAwait(false)).Trim()
            : _options.Revision;
        string cached = Path.Combine(repoDir, "snapshots", snapshotName, path);
        if (File.Exists(cached))
        {
            if (expectedSha256 is null || await HashFileAsync(cached, cancellationToken).ConfigureAwait(false) == expectedSha256)
            {
                _logger.LogDebug("Using cached {Path}", cached);
                return cached;
            }

            _logger.LogWarning("Cached {Path} does not match its sha256 {Sha256}; it is removed", cached, expectedSha256);
            File.Delete(cached);
        }

        if (_options.Offline)
        {
            throw new FileNotFoundException(
                $"HuggingFaceHubOptions.Offline is set (by default from HF_HUB_OFFLINE) and '{repositoryId}/{path}' at revision '{_options.Revision}' is not in the cache '{_options.CacheDirectory}' (looked for '{cached}').",
                cached);
        }

        var url = GetFileUrl(repositoryId, path);
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return await DownloadOnceAsync(url, repoDir, path, expectedSha256, expectedSize, progress, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransient(e, cancellationToken) && attempt < _options.MaxRetries)
            {
                var retry = new DownloadRetry(path, attempt + 2, _options.MaxRetries + 1, _options.InitialRetryDelay * Math.Pow(2, attempt), e.Message);
                _logger.LogWarning(e, "Download of {Url} failed; {Retry}", url, retry.ToString());
                progress?.Report(new DownloadProgress(path, 0, expectedSize) { Retry = retry });
                await Task.Delay(retry.Delay, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransient(e, cancellationToken))
            {
                throw new HttpRequestException(
                    $"Downloading '{url}' failed after {attempt + 1} attempt(s): {e.Message}", e, (e as HttpRequestException)?.StatusCode);
            }
        }
    }

    private async Task<string> DownloadOnceAsync(
        Uri url, string repoDir, string path, string? expectedSha256, long? expectedSize,
        IProgress<DownloadProgress>? progress, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (_options.Token is { } token)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            string hint = response.StatusCode switch
            {
                HttpStatusCode.NotFound => " (no such file or revision)",
                HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => " (set HuggingFaceHubOptions.Token, by default HF_TOKEN, to a token with access)",
                _ => string.Empty,
            };
            throw new HttpRequestException(
                $"GET '{url}' for '{path}' returned {(int)response.StatusCode} {response.ReasonPhrase}{hint}.", null, response.StatusCode);
        }

        string? serverSha = LinkedSha256(response);
        string? wantSha = expectedSha256 ?? serverSha;
        long? total = response.Content.Headers.ContentLength ?? expectedSize;
        string blobs = Path.Combine(repoDir, "blobs");
        Directory.CreateDirectory(blobs);
        long received = 0;
        string blob = await AtomicFile.WriteNamedAsync(
            blobs,
            "download",
            async (file, token) =>
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                await using var body = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
                var buffer = new byte[81920];
                int read;
                progress?.Report(new DownloadProgress(path, 0, total));
                while ((read = await body.ReadAsync(buffer, token).ConfigureAwait(false)) > 0)
                {
                    await file.WriteAsync(buffer.AsMemory(0, read), token).ConfigureAwait(false);
                    hash.AppendData(buffer, 0, read);
                    received += read;
                    progress?.Report(new DownloadProgress(path, received, total));
                }

                string actualSha = Convert.ToHexStringLower(hash.GetHashAndReset());
                if (response.Content.Headers.ContentLength is { } length && length != received)
                {
                    throw new IOException($"GET '{url}' ended after {received} of {length} bytes.");
                }

                if (expectedSize is { } size && size != received)
                {
                    throw new InvalidDataException($"Downloaded '{path}' from '{url}' has {received} bytes; expected {size}. Nothing was cached.");
                }

                if (wantSha is not null && !string.Equals(wantSha, actualSha, StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidDataException(
                        $"Downloaded '{path}' from '{url}' has sha256 {actualSha}; expected {wantSha}. Nothing was cached.");
                }

                return Path.Combine(blobs, actualSha);
            },
            timeout.Token).ConfigureAwait(false);
        string commit = response.Headers.TryGetValues("X-Repo-Commit", out var commits) && commits.FirstOrDefault() is { Length: > 0 } c
            ? c
            : _options.Revision;
        string snapshot = Path.Combine(repoDir, "snapshots", commit, path);
        AtomicFile.Copy(blob, snapshot);
        if (commit != _options.Revision)
        {
            string refFile = Path.Combine(repoDir, "refs", _options.Revision);
            await AtomicFile.WriteAsync(refFile, (stream, token) => stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(commit), token).AsTask(), CancellationToken.None).ConfigureAwait(false);
        }

        _logger.LogInformation("Downloaded {Url} ({Bytes} bytes, sha256 {Sha256}) to {Path}", url, received, Path.GetFileName(blob), snapshot);
        return snapshot;
    }

    private static string? LinkedSha256(HttpResponseMessage response)
    {
        foreach (string header in new[] { "X-Linked-Etag", "ETag" })
        {
            if (response.Headers.TryGetValues(header, out var values))
            {
                string value = values.First().Trim().TrimStart('W', '/').Trim('"');
                if (value.Length == 64 && value.All(Uri.IsHexDigit))
                {
                    return value.ToLowerInvariant();
                }
            }
        }

        return null;
    }

    private static bool IsTransient(Exception e, CancellationToken cancellationToken) => e switch
    {
        OperationCanceledException => !cancellationToken.IsCancellationRequested, // a request timeout, not the caller
        HttpRequestException { StatusCode: null } => true,
        HttpRequestException { StatusCode: { } status } => status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500,
        IOException and not FileNotFoundException => true,
        _ => false,
    };

    private static async Task<string> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
    }
}
