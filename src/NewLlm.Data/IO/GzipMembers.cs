namespace NewLlm.Data;

/// <summary>
/// Decompresses a gzip file of one or more members held in memory (RFC 1952 §2.2: a gzip file is a series of members),
/// checking each member's trailer (CRC32 and ISIZE) against what it decompressed to; zero padding after the last member
/// is accepted (as Python's <c>gzip</c> does), anything else after it is not.
/// </summary>
/// <remarks>A wrapper over <see cref="GzipMemberStream"/>, which holds the one implementation of these rules.</remarks>
internal static class GzipMembers
{
    /// <summary>Decompresses every member of <paramref name="stored"/>.</summary>
    /// <param name="stored">The file's bytes (starting with the gzip magic bytes).</param>
    /// <param name="path">The file, for messages.</param>
    /// <returns>The concatenated decompressed bytes.</returns>
    /// <exception cref="InvalidDataException">A member is truncated or corrupt, or bytes other than zeros follow the last member.</exception>
    public static byte[] Decompress(byte[] stored, string path)
    {
        using var gzip = new GzipMemberStream(new MemoryStream(stored, writable: false), path);
        using var output = new MemoryStream((int)Math.Min(stored.Length * 4L, Array.MaxLength));
        gzip.CopyTo(output);
        return output.ToArray();
    }
}
