using System.Net;
using System.Text.RegularExpressions;

namespace NewLlm.Data;

// Listing the files under a folder of a repository (the Hub's tree API), with the listing cached for offline use.
public sealed partial class HuggingFaceHubDownloader
{
    private const int ListingFormatVersion = 1;

    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    /// <summary>
    /// Lists the files under a folder of the repository at <see cref="HuggingFaceHubOptions.Revision"/>, recursively, so
    /// that files named with hashes (Parquet shards) can be downloaded with <see cref="GetFileAsync(string, HubFileInfo, IProgress{DownloadProgress}?, CancellationToken)"/>.
    /// </summary>
    /// <param name="repositoryId">The dataset repository, <c>owner/name</c>.</param>
    /// <param name="pathPrefix">The folder inside the repository, for example <c>data</c> (leading and trailing <c>/</c> ignored); empty for all.</param>
    /// <param name="cancellationToken">Cancels the listing.</param>
    /// <returns>The files (folders are left out), sorted by <see cref="HubFileInfo.Path"/>.</returns>
    /// <remarks>
    /// Online, the Hub's tree API is asked (<c>{endpoint}/api/datasets/{repo}/tree/{revision}/{folder}?recursive=true</c>,
    /// with the token, timeouts and retries of the downloads), following its <c>Link: &lt;…&gt;; rel="next"</c> pages, and
    /// the listing is cached (<c>datasets--{owner}--{name}/listings/{revision}/{folder}.json</c>, both percent-escaped, the
    /// whole repository <c>%2F</c>). Offline, the cached listing is returned, else the files of the revision's snapshot
    /// folder (no sha256). A branch that moves while its pages are read can give a mixed listing: pin
    /// <see cref="HuggingFaceHubOptions.Revision"/> to a commit to be exact.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="pathPrefix"/> is not a relative folder path (empty segments, <c>.</c>, <c>..</c>, <c>\</c>, a root).</exception>
    /// <exception cref="FileNotFoundException">Offline, and neither a cached listing nor cached files of the folder exist.</exception>
    /// <exception cref="HttpRequestException">The Hub refused the listing (404, 401, 403: missing, gated or private) or kept failing after the retries.</exception>
    /// <exception cref="InvalidDataException">The Hub's answer (or the cached listing) is not the JSON expected; the message names the URL (or the file).</exception>
    public async Task<IReadOnlyList<HubFileInfo>> ListFilesAsync(string repositoryId, string pathPrefix, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(repositoryId);
        ArgumentNullException.ThrowIfNull(pathPrefix);
        string prefix = NormalizePrefix(pathPrefix);
        string listingFile = GetListingCachePath(repositoryId, prefix);
        if (_options.Offline)
        {
            return ListOffline(repositoryId, prefix, listingFile);
        }

        AtomicFile.DeleteOrphaned(Path.GetDirectoryName(listingFile)!, StaleAge);
        var url = GetListingUrl(repositoryId, prefix);
        var files = await ListOnlineAsync(url, repositoryId, prefix, cancellationToken).ConfigureAwait(false);
        await WriteListingAsync(listingFile, url, repositoryId, prefix, files, cancellationToken).ConfigureAwait(false);
        _logger.LogInformation(DataLogEvents.HubFilesListed, "Listed {Count} file(s) under '{Prefix}' of {Repository} at {Revision}; cached in {Path}", files.Count, prefix, repositoryId, _options.Revision, listingFile);
        return files;
    }

    /// <summary>The first page of the Hub's listing: <c>{endpoint}/api/datasets/{repo}/tree/{revision}/{folder}?recursive=true</c>.</summary>
    internal Uri GetListingUrl(string repositoryId, string prefix)
    {
        string folder = prefix.Length == 0 ? string.Empty : "/" + string.Join('/', prefix.Split('/').Select(Uri.EscapeDataString));
        return new Uri($"{_options.Endpoint.TrimEnd('/')}/api/datasets/{repositoryId}/tree/{Uri.EscapeDataString(_options.Revision)}{folder}?recursive=true");
    }

    /// <summary>Where a folder's listing is cached: <c>{repo cache}/listings/{revision}/{folder}.json</c>, both percent-escaped (no <c>/</c> remains).</summary>
    internal string GetListingCachePath(string repositoryId, string prefix) =>
        Path.Combine(
            GetRepositoryCacheDirectory(repositoryId),
            "listings",
            Uri.EscapeDataString(_options.Revision),
            Uri.EscapeDataString(prefix.Length == 0 ? "/" : prefix) + ".json");

    private async Task<IReadOnlyList<HubFileInfo>> ListOnlineAsync(Uri url, string repositoryId, string prefix, CancellationToken cancellationToken)
    {
        var files = new Dictionary<string, HubFileInfo>(StringComparer.Ordinal);
        var read = new HashSet<string>(StringComparer.Ordinal);
        string name = prefix.Length == 0 ? $"the listing of {repositoryId}" : $"the listing of {repositoryId}/{prefix}";
        for (Uri? page = url; page is not null;)
        {
            if (!read.Add(page.AbsoluteUri))
            {
                throw new InvalidDataException(
                    $"Listing '{url}': the page '{page}' is linked to again (Link rel=\"next\") after {read.Count - 1} page(s); the listing would never end.");
            }

            var current = page;
            var (entries, next) = await WithRetriesAsync(
                current,
                name,
                "Listing",
                $"GET '{current}' (the listing of '{prefix}' in {repositoryId})",
                clock => ListPageOnceAsync(current, name, repositoryId, prefix, clock),
                null,
                cancellationToken).ConfigureAwait(false);
            foreach (var entry in entries)
            {
                files.TryAdd(entry.Path, entry);
            }

            page = next;
        }

        return [.. files.Values.OrderBy(f => f.Path, StringComparer.Ordinal)];
    }

    private async Task<(List<HubFileInfo> Entries, Uri? Next)> ListPageOnceAsync(Uri url, string name, string repositoryId, string prefix, RequestClock clock)
    {
        var (response, _) = await SendFollowingRedirectsAsync(url, name, clock).ConfigureAwait(false);
        using var disposeResponse = response;
        if (!response.IsSuccessStatusCode)
        {
            throw ListingRefused(response, url, repositoryId, prefix);
        }

        using var body = new MemoryStream();
        await using (var stream = await response.Content.ReadAsStreamAsync(clock.Token).ConfigureAwait(false))
        {
            var buffer = new byte[81920];
            int read;
            while ((read = await stream.ReadAsync(buffer, clock.Token).ConfigureAwait(false)) > 0)
            {
                clock.Touch();
                body.Write(buffer, 0, read);
            }
        }

        return (ParseListingPage(body.ToArray(), url, prefix), FindNextLink(response, url));
    }

    private HttpRequestException ListingRefused(HttpResponseMessage response, Uri url, string repositoryId, string prefix)
    {
        string folder = prefix.Length == 0 ? string.Empty : $" (or its folder '{prefix}')";
        string hint = response.StatusCode switch
        {
            HttpStatusCode.NotFound =>
                $": dataset repository '{repositoryId}' or revision '{_options.Revision}'{folder} not found, or it is gated/private: "
                + "set HF_TOKEN (HuggingFaceHubOptions.Token) to a token with access",
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden =>
                $": access to dataset repository '{repositoryId}' at revision '{_options.Revision}' refused; it is gated/private (or does not exist): "
                + "set HF_TOKEN (HuggingFaceHubOptions.Token) to a token with access, and accept the dataset's conditions on its Hub page if it is gated",
            _ => string.Empty,
        };
        string said = response.Headers.TryGetValues("X-Error-Message", out var messages) && messages.FirstOrDefault() is { Length: > 0 } message
            ? $" The Hub says: {message}"
            : string.Empty;
        return Refused(response, $"GET '{url}' returned {(int)response.StatusCode} {response.ReasonPhrase}{hint}.{said}");
    }

    /// <summary>The files of one page of the Hub's tree listing (a JSON array of entries; folders are skipped).</summary>
    internal static List<HubFileInfo> ParseListingPage(byte[] body, Uri url, string prefix)
    {
        using var document = ParseJson(body, e => new InvalidDataException($"The listing '{url}' is not valid JSON: {e.Message}", e));
        if (document.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"The listing '{url}' is not a JSON array of entries but a {document.RootElement.ValueKind}.");
        }

        var files = new List<HubFileInfo>();
        int index = -1;
        foreach (var entry in document.RootElement.EnumerateArray())
        {
            index++;
            InvalidDataException Bad(string what) => new($"The listing '{url}' is not what the Hub sends: entry {index} {what}.");
            if (JsonString(entry, "type") is not { } type || JsonString(entry, "path") is not { } path)
            {
                throw Bad("is not an object with a \"type\" and a \"path\"");
            }

            if (type != "file")
            {
                continue; // "directory": its files are listed too (recursive)
            }

            if (!IsUnderPrefix(path, prefix))
            {
                throw Bad($"has the path '{path}', which is not a relative file path under '{prefix}'");
            }

            long? size = JsonInt64(entry, "size");
            string? sha256 = null;
            if (entry.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object)
            {
                sha256 = JsonString(lfs, "oid") is { } oid && IsSha256(oid) ? oid.ToLowerInvariant() : throw Bad($"('{path}') has no sha256 in its lfs.oid");
                long? lfsSize = JsonInt64(lfs, "size");
                if (size is not null && lfsSize is not null && size != lfsSize)
                {
                    throw Bad($"('{path}') has the size {size} but the lfs.size {lfsSize}");
                }

                size ??= lfsSize;
            }

            files.Add(new HubFileInfo(path, size is >= 0 ? size.Value : throw Bad($"('{path}') has no size"), sha256));
        }

        return files;
    }

    /// <summary>The target of <c>Link: &lt;url&gt;; rel="next"</c> (resolved against the page's URL), or <see langword="null"/> on the last page.</summary>
    internal static Uri? FindNextLink(HttpResponseMessage response, Uri url)
    {
        var links = response.Headers.TryGetValues("Link", out var values) ? values.SelectMany(v => LinkRegex().Matches(v)) : [];
        if (links.FirstOrDefault(link => IsRelNext(link.Groups["parameters"].Value))?.Groups["target"].Value.Trim() is not { } target)
        {
            return null;
        }

        return Uri.TryCreate(url, target, out var resolved) && (resolved.Scheme == Uri.UriSchemeHttp || resolved.Scheme == Uri.UriSchemeHttps)
            ? resolved
            : throw new InvalidDataException($"The listing '{url}' links to a next page '{target}' that is no http(s) URL.");
    }

    /// <summary>One link of a <c>Link</c> header: <c>&lt;target&gt;</c> and its parameters, up to the next <c>&lt;</c>.</summary>
    [GeneratedRegex("<(?<target>[^>]*)>(?<parameters>[^<]*)", RegexOptions.CultureInvariant)]
    private static partial Regex LinkRegex();

    /// <summary>Whether a link's parameters (<c>; rel="next"</c>, <c>; rel="prev next"</c>) say it is the next page.</summary>
    private static bool IsRelNext(string parameters)
    {
        foreach (string parameter in parameters.Split([';', ','], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int equals = parameter.IndexOf('=');
            if (equals > 0 && parameter[..equals].Trim().Equals("rel", StringComparison.OrdinalIgnoreCase)
                && parameter[(equals + 1)..].Trim().Trim('"').Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("next", StringComparer.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private List<HubFileInfo> ListOffline(string repositoryId, string prefix, string listingFile)
    {
        if (File.Exists(listingFile) && ReadCachedListing(listingFile, repositoryId, prefix) is { } cached)
        {
            _logger.LogDebug("Using the cached listing {Path}", listingFile);
            return cached;
        }

        string snapshot = GetSnapshotPath(repositoryId, string.Empty);
        string folder = prefix.Length == 0 ? snapshot : Path.Combine(snapshot, prefix);
        var files = new List<HubFileInfo>();
        if (Directory.Exists(folder))
        {
            var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.None, IgnoreInaccessible = true };
            foreach (string file in Directory.EnumerateFiles(folder, "*", options))
            {
                var entry = new FileInfo(file);
                var content = entry.LinkTarget is null ? entry : entry.ResolveLinkTarget(returnFinalTarget: true) as FileInfo;
                if (AtomicFile.IsTemporaryFile(file) || content is not { Exists: true })
                {
                    continue; // a download in progress, or a symbolic link (huggingface_hub's layout) to a blob that is gone
                }

                files.Add(new HubFileInfo(Path.GetRelativePath(snapshot, file).Replace('\\', '/'), content.Length, null));
            }
        }

        if (files.Count == 0)
        {
            string what = prefix.Length == 0 ? $"'{repositoryId}'" : $"'{prefix}' of '{repositoryId}'";
            throw new FileNotFoundException(
                $"HuggingFaceHubOptions.Offline is set (by default from HF_HUB_OFFLINE) and the listing of {what} at revision '{_options.Revision}' is not cached: "
                + $"there is no '{listingFile}' and no file under '{folder}'. List the files once online (HuggingFaceHubOptions.Offline false, HF_HUB_OFFLINE unset) "
                + "to cache the listing, or put the files in that snapshot folder.",
                listingFile);
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        _logger.LogInformation(DataLogEvents.SnapshotFolderListed, "Offline and no cached listing: listed {Count} file(s) from the snapshot folder {Folder}", files.Count, folder);
        return files;
    }

    /// <summary>The cached listing, or <see langword="null"/> when it is of another repository, revision or folder (a case-insensitive file system's collision).</summary>
    private List<HubFileInfo>? ReadCachedListing(string listingFile, string repositoryId, string prefix)
    {
        InvalidDataException Bad(string what, Exception? inner = null) => new(
            $"The cached listing '{listingFile}' {what}; delete it, and list once with HuggingFaceHubOptions.Offline false (HF_HUB_OFFLINE unset) to cache it again.", inner);
        using var document = ParseJson(File.ReadAllBytes(listingFile), e => Bad($"is not valid JSON ({e.Message})", e));
        var root = document.RootElement;
        if (JsonInt64(root, "version") != ListingFormatVersion || !root.TryGetProperty("files", out var entries) || entries.ValueKind != JsonValueKind.Array)
        {
            throw Bad($"is not a listing of version {ListingFormatVersion} (an object with \"version\" and \"files\")");
        }

        if (JsonString(root, "repository") != repositoryId || JsonString(root, "revision") != _options.Revision || JsonString(root, "pathPrefix") != prefix)
        {
            _logger.LogDebug("The cached listing {Path} is of another repository, revision or folder; it is not used", listingFile);
            return null;
        }

        var files = new List<HubFileInfo>();
        foreach (var entry in entries.EnumerateArray())
        {
            string? path = JsonString(entry, "path");
            long? size = JsonInt64(entry, "size");
            string? sha256 = JsonString(entry, "sha256");
            if (path is null || !IsUnderPrefix(path, prefix) || size is not >= 0 || (sha256 is not null && !IsSha256(sha256)))
            {
                throw Bad($"has an entry that is not a file under '{prefix}' with a size and an optional sha256: {entry.GetRawText()}");
            }

            files.Add(new HubFileInfo(path, size.Value, sha256));
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return files;
    }

    private Task WriteListingAsync(string listingFile, Uri url, string repositoryId, string prefix, IReadOnlyList<HubFileInfo> files, CancellationToken cancellationToken)
    {
        var listing = new
        {
            version = ListingFormatVersion,
            repository = repositoryId,
            revision = _options.Revision,
            pathPrefix = prefix,
            url = url.AbsoluteUri,
            listedAtUtc = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            files = files.Select(file => new { path = file.Path, size = file.Size, sha256 = file.Sha256 }),
        };
        return AtomicFile.WriteAsync(listingFile, (stream, token) => JsonSerializer.SerializeAsync(stream, listing, IndentedJson, token), cancellationToken);
    }

    /// <summary>The folder with <c>/</c> separators and no leading or trailing <c>/</c>; an <see cref="ArgumentException"/> for anything but a plain relative path.</summary>
    private static string NormalizePrefix(string pathPrefix)
    {
        string prefix = pathPrefix.Trim('/');
        if (prefix.Length > 0 && !IsRelativePath(prefix))
        {
            throw new ArgumentException(
                $"The folder '{pathPrefix}' is not a relative path inside the repository ('/'-separated names, none empty, '.' or '..', no '\\').", nameof(pathPrefix));
        }

        return prefix;
    }

    /// <summary>Whether <paramref name="path"/> is a file path inside the repository below <paramref name="prefix"/>, safe to join to a cache folder.</summary>
    private static bool IsUnderPrefix(string path, string prefix) =>
        IsRelativePath(path) && (prefix.Length == 0 || (path.Length > prefix.Length + 1 && path.StartsWith(prefix + "/", StringComparison.Ordinal)));

    private static bool IsRelativePath(string path) =>
        path.Length > 0 && path.IndexOfAny(['\\', '\0']) < 0 && !Path.IsPathRooted(path)
        && path.Split('/').All(segment => segment is { Length: > 0 } and not "." and not "..");

    private static bool IsSha256(string hex) => hex.Length == 64 && hex.All(Uri.IsHexDigit);

    private static JsonDocument ParseJson(byte[] json, Func<JsonException, InvalidDataException> invalid)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw invalid(e);
        }
    }

    // A member of an object (null for any other element) of the kind asked for.
    private static string? JsonString(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long? JsonInt64(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long number) ? number : null;
}
