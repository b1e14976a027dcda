namespace NewLlm.Data;

/// <summary>
/// What the Hub says about a file, read as huggingface_hub reads it: <c>X-Linked-Etag</c> (else <c>ETag</c>) holding a
/// sha256 or a git blob sha1, <c>X-Linked-Size</c> and <c>X-Repo-Commit</c>; the first answer that says something wins.
/// </summary>
internal sealed class HubEvidence
{
    public string? Sha256 { get; private set; }

    public string? GitSha1 { get; private set; }

    public string EtagHeader { get; private set; } = "ETag";

    public long? Size { get; private set; }

    public string? Commit { get; private set; }

    public void Read(HttpResponseMessage response)
    {
        if (Sha256 is null && GitSha1 is null)
        {
            foreach (string header in new[] { "X-Linked-Etag", "ETag" })
            {
                if (response.Headers.TryGetValues(header, out var values) && values.FirstOrDefault() is { } raw)
                {
                    // huggingface_hub's normalisation: drop a weak-validator prefix and the quotes.
                    string value = raw.Trim();
                    value = (value.StartsWith("W/", StringComparison.Ordinal) ? value[2..] : value).Trim('"').ToLowerInvariant();
                    if (value.All(Uri.IsHexDigit) && value.Length is 64 or 40)
                    {
                        EtagHeader = header;
                        Sha256 = value.Length == 64 ? value : null;
                        GitSha1 = value.Length == 40 ? value : null;
                    }

                    break; // X-Linked-Etag, when present, is the file's; the ETag then belongs to the redirect
                }
            }
        }

        if (Size is null && response.Headers.TryGetValues("X-Linked-Size", out var sizes)
            && long.TryParse(sizes.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out long size))
        {
            Size = size;
        }

        // A commit names a snapshot folder: only a plain commit hash is taken, never a path.
        if (Commit is null && response.Headers.TryGetValues("X-Repo-Commit", out var commits)
            && commits.FirstOrDefault()?.Trim() is { Length: >= 7 and <= 64 } commit && commit.All(char.IsAsciiLetterOrDigit))
        {
            Commit = commit;
        }
    }
}
