using System.Net;

namespace NewLlm.Data;

// The download of one file: one GET with its redirects, the body checked against the size and checksums expected.
public sealed partial class HuggingFaceHubDownloader
{
    private async Task<string> DownloadOnceAsync(
        Uri url, string repoDir, string path, string? expectedSha256, long? expectedSize,
        IProgress<DownloadProgress>? progress, RequestClock clock)
    {
        var (response, evidence) = await SendFollowingRedirectsAsync(url, path, clock).ConfigureAwait(false);
        using var disposeResponse = response;
        if (!response.IsSuccessStatusCode)
        {
            string hint = response.StatusCode switch
            {
                HttpStatusCode.NotFound => " (no such file or revision)",
                HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => " (set HuggingFaceHubOptions.Token, by default HF_TOKEN, to a token with access)",
                _ => string.Empty,
            };
            throw Refused(response, $"GET '{url}' for '{path}' returned {(int)response.StatusCode} {response.ReasonPhrase}{hint}.");
        }

        long? contentLength = response.Content.Headers.ContentLength;
        var (wantSha, shaSource) = expectedSha256 is not null ? (expectedSha256, "the expected sha256") : (evidence.Sha256, $"the server's {evidence.EtagHeader}");
        var (wantSize, sizeSource) = expectedSize is not null ? (expectedSize, "the expected size") : (evidence.Size, "the server's X-Linked-Size");
        long? gitSize = evidence.GitSha1 is null ? null : wantSize ?? contentLength;
        if (wantSha is null && gitSize is null && wantSize is null && contentLength is null)
        {
            throw new InvalidDataException(
                $"GET '{url}' for '{path}' cannot be verified: the server sent no X-Linked-Etag or ETag holding a sha256 or git blob sha1, "
                + "no X-Linked-Size and no Content-Length, and no expectedSha256 or expectedSize was given. Nothing was cached; "
                + "pass the file's expectedSha256 and expectedSize to HuggingFaceHubDownloader.GetFileAsync, or use a server that sends them.");
        }

        // The body is read up to one byte past the size it must have, never further: a server that sends more (or
        // without end) is stopped there, with nothing written beyond that byte.
        var (limit, limitSource) = wantSize is not null ? (wantSize, sizeSource) : (contentLength, "the Content-Length");
        if (wantSize is { } wanted && contentLength is { } announced && announced > wanted)
        {
            throw new InvalidDataException(
                $"GET '{url}' for '{path}' announces {announced} bytes (the Content-Length); expected {wanted} ({sizeSource}). Nothing was read or cached; "
                + "the server's file is not the one expected: check HuggingFaceHubOptions.Endpoint and Revision, and the expected size given.");
        }

        long? total = contentLength ?? wantSize;
        string blobs = Path.Combine(repoDir, "blobs");
        Directory.CreateDirectory(blobs);
        long received = 0;
        string blob = await AtomicFile.WriteNamedAsync(
            blobs,
            "download",
            async (file, token) =>
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                using var gitHash = gitSize is not null ? IncrementalHash.CreateHash(HashAlgorithmName.SHA1) : null;
                gitHash?.AppendData(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"blob {gitSize}\0")));
                await using var body = await response.Content.ReadAsStreamAsync(clock.Token).ConfigureAwait(false);
                var buffer = new byte[81920];
                int read;
                progress?.Report(new DownloadProgress(path, 0, total));
                while ((read = await body.ReadAsync(buffer.AsMemory(0, limit is { } max ? (int)Math.Min(buffer.Length, max + 1 - received) : buffer.Length), clock.Token).ConfigureAwait(false)) > 0)
                {
                    clock.Touch();
                    received += read;
                    if (received > limit)
                    {
                        throw new InvalidDataException(
                            $"GET '{url}' for '{path}' sent more than {limit} bytes ({limitSource}); the download was stopped there and nothing was cached. "
                            + "The server's file is not the one expected: check HuggingFaceHubOptions.Endpoint and Revision, and the expected size given.");
                    }

                    await file.WriteAsync(buffer.AsMemory(0, read), token).ConfigureAwait(false);
                    hash.AppendData(buffer, 0, read);
                    gitHash?.AppendData(buffer, 0, read);
                    progress?.Report(new DownloadProgress(path, received, total));
                }

                // A body shorter than announced is a broken transfer (retried); anything else that does not match is not.
                if (contentLength is { } length && length != received)
                {
                    throw new IOException($"GET '{url}' for '{path}' ended after {received} of {length} bytes (the Content-Length). Nothing was cached.");
                }

                if (wantSize is { } size && received < size)
                {
                    throw new IOException($"GET '{url}' for '{path}' ended after {received} of {size} bytes ({sizeSource}). Nothing was cached.");
                }

                string actualSha = Convert.ToHexStringLower(hash.GetHashAndReset());
                if (wantSha is not null && !string.Equals(wantSha, actualSha, StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidDataException(
                        $"Downloaded '{path}' from '{url}' has sha256 {actualSha}; expected {wantSha} ({shaSource}). Nothing was cached.");
                }

                if (gitHash is not null && Convert.ToHexStringLower(gitHash.GetHashAndReset()) is { } actualGit && actualGit != evidence.GitSha1)
                {
                    throw new InvalidDataException(
                        $"Downloaded '{path}' from '{url}' has git blob sha1 {actualGit}; expected {evidence.GitSha1} (the server's {evidence.EtagHeader}). Nothing was cached.");
                }

                return Path.Combine(blobs, actualSha);
            },
            clock.Deadline).ConfigureAwait(false);
        string commit = evidence.Commit ?? _options.Revision;
        string snapshot = Path.Combine(repoDir, "snapshots", commit, path);
        AtomicFile.Copy(blob, snapshot);
        if (commit != _options.Revision)
        {
            string refFile = Path.Combine(repoDir, "refs", _options.Revision);
            await AtomicFile.WriteAsync(refFile, (stream, token) => stream.WriteAsync(Encoding.UTF8.GetBytes(commit), token).AsTask(), CancellationToken.None).ConfigureAwait(false);
        }

        _logger.LogInformation(DataLogEvents.HubFileDownloaded, "Downloaded {Url} ({Bytes} bytes, sha256 {Sha256}) to {Path}", url, received, Path.GetFileName(blob), snapshot);
        return snapshot;
    }

    /// <summary>
    /// Sends the GET, following redirects itself, and reads the Hub's evidence (<see cref="HubEvidence"/>) from the
    /// endpoint's host only (a CDN's ETag is no checksum of the file); the token goes to that host only.
    /// </summary>
    private async Task<(HttpResponseMessage Response, HubEvidence Evidence)> SendFollowingRedirectsAsync(Uri url, string path, RequestClock clock)
    {
        var evidence = new HubEvidence();
        var hub = new Uri(_options.Endpoint);
        Uri current = url;
        for (int hop = 0; ; hop++)
        {
            bool fromHub = IsSameServer(current, hub);
            using var request = new HttpRequestMessage(HttpMethod.Get, current);
            if (_options.Token is { } token && fromHub)
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            }

            var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, clock.Token).ConfigureAwait(false);
            clock.Touch();
            if (fromHub && IsSameServer(response.RequestMessage?.RequestUri ?? current, hub))
            {
                evidence.Read(response);
            }

            bool redirect = (int)response.StatusCode is 301 or 302 or 303 or 307 or 308 && response.Headers.Location is not null;
            if (!redirect)
            {
                return (response, evidence);
            }

            var location = response.Headers.Location!;
            response.Dispose();
            if (hop == MaxRedirects)
            {
                throw new HttpRequestException($"GET '{url}' for '{path}' was redirected more than {MaxRedirects} times (last to '{location}').");
            }

            current = location.IsAbsoluteUri ? location : new Uri(current, location);
        }
    }

    private static bool IsSameServer(Uri a, Uri b) =>
        Uri.Compare(a, b, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;
}
