using System.Buffers;
using Microsoft.ML.Tokenizers;

namespace NewLlm.Data;

/// <summary>
/// A Microsoft.ML.Tokenizers <see cref="Tokenizer"/> over a fixed word list: the text is split like Python's
/// <c>str.split()</c>, each word lower-cased like <c>str.lower()</c> and looked up; unknown words get the unknown id.
/// </summary>
public sealed class WordLevelVocabularyTokenizer : Tokenizer
{
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _spanIds;
    private readonly string[] _tokens;
    private readonly int _unknownId;

    /// <summary>Creates the tokenizer.</summary>
    /// <param name="tokens">The token of each id, in id order (special tokens included).</param>
    /// <param name="unknownId">The id of an unknown word.</param>
    /// <param name="firstWordId">The first id that is a word (ids below it are special and never produced by lookup).</param>
    public WordLevelVocabularyTokenizer(IReadOnlyList<string> tokens, int unknownId, int firstWordId)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentOutOfRangeException.ThrowIfNegative(unknownId);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(unknownId, tokens.Count);
        _tokens = tokens.ToArray();
        _unknownId = unknownId;
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int id = firstWordId; id < _tokens.Length; id++)
        {
            if (!ids.TryAdd(_tokens[id], id))
            {
                throw new ArgumentException($"The word '{_tokens[id]}' appears twice in the vocabulary.", nameof(tokens));
            }
        }

        _spanIds = ids.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The token of each id, in id order.</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>The id of a word (already lower-cased), or the unknown id.</summary>
    /// <param name="word">The word.</param>
    /// <returns>The id.</returns>
    public int GetId(ReadOnlySpan<char> word) => _spanIds.TryGetValue(word, out int id) ? id : _unknownId;

    /// <inheritdoc />
    protected override EncodeResults<EncodedToken> EncodeToTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        var tokens = Tokenize(text is null ? textSpan : text.AsSpan(), settings.MaxTokenCount, out int consumed);
        return new EncodeResults<EncodedToken> { Tokens = tokens, NormalizedText = null, CharsConsumed = consumed };
    }

    /// <inheritdoc />
    protected override EncodeResults<int> EncodeToIds(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        var tokens = Tokenize(text is null ? textSpan : text.AsSpan(), settings.MaxTokenCount, out int consumed);
        return new EncodeResults<int> { Tokens = [.. tokens.Select(t => t.Id)], NormalizedText = null, CharsConsumed = consumed };
    }

    /// <inheritdoc />
    protected override int CountTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings) =>
        Tokenize(text is null ? textSpan : text.AsSpan(), settings.MaxTokenCount, out _).Count;

    /// <inheritdoc />
    protected override int GetIndexByTokenCount(
        string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings, bool fromEnd, out string? normalizedText, out int tokenCount)
    {
        normalizedText = null;
        var span = text is null ? textSpan : text.AsSpan();
        var tokens = Tokenize(span, fromEnd ? int.MaxValue : settings.MaxTokenCount, out int consumed);
        tokenCount = Math.Min(settings.MaxTokenCount, tokens.Count);
        return !fromEnd ? consumed : tokenCount == 0 ? span.Length : tokens[^tokenCount].Offset.Start.Value;
    }

    /// <inheritdoc />
    public override OperationStatus Decode(IEnumerable<int> ids, Span<char> destination, out int idsConsumed, out int charsWritten)
    {
        ArgumentNullException.ThrowIfNull(ids);
        idsConsumed = 0;
        charsWritten = 0;
        foreach (int id in ids)
        {
            string token = TokenOf(id);
            int needed = token.Length + (charsWritten > 0 ? 1 : 0);
            if (charsWritten + needed > destination.Length)
            {
                return OperationStatus.DestinationTooSmall;
            }

            if (charsWritten > 0)
            {
                destination[charsWritten++] = ' ';
            }

            token.CopyTo(destination[charsWritten..]);
            charsWritten += token.Length;
            idsConsumed++;
        }

        return OperationStatus.Done;
    }

    /// <summary>Decodes ids to their words joined by single spaces (ids out of range decode as the unknown token).</summary>
    /// <param name="ids">The ids.</param>
    /// <returns>The text.</returns>
    public override string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return string.Join(' ', ids.Select(TokenOf));
    }

    private string TokenOf(int id) => id >= 0 && id < _tokens.Length ? _tokens[id] : _tokens[_unknownId];

    /// <summary>The first <paramref name="maxTokenCount"/> words with their ids and ranges, and the characters they consume (all when every word is taken).</summary>
    private List<EncodedToken> Tokenize(ReadOnlySpan<char> text, int maxTokenCount, out int consumed)
    {
        var tokens = new List<EncodedToken>();
        int i = 0;
        consumed = 0;
        Span<char> buffer = stackalloc char[128];
        while (i < text.Length)
        {
            while (i < text.Length && PythonText.IsWhiteSpace(text[i]))
            {
                i++;
            }

            if (i == text.Length)
            {
                break;
            }

            if (tokens.Count >= maxTokenCount)
            {
                return tokens;
            }

            int start = i;
            while (i < text.Length && !PythonText.IsWhiteSpace(text[i]))
            {
                i++;
            }

            var word = text[start..i];
            int id;
            if (word.IndexOfAny('\u0130', '\u03a3') >= 0 || word.Length > buffer.Length)
            {
                id = GetId(PythonText.ToLower(new string(word)));
            }
            else
            {
                int written = word.ToLowerInvariant(buffer);
                id = GetId(buffer[..written]);
            }

            tokens.Add(new EncodedToken(id, _tokens[id], new Range(start, i)));
            consumed = i;
        }

        consumed = text.Length;
        return tokens;
    }
}
