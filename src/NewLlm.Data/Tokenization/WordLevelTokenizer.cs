using Microsoft.ML.Tokenizers;

namespace NewLlm.Data;

/// <summary>
/// The original pipeline's word-level vocabulary (the reference <c>WordVocab</c>): lower-cased whitespace-split words
/// of the normalised training text, the (size - 4) most frequent (ties: first seen first), ids PAD=0, UNK=1, BOS=2,
/// EOS=3, words from 4.
/// </summary>
public sealed class WordLevelTokenizer : DialogueTokenizer
{
    /// <summary>The kind tag, <c>word</c>.</summary>
    public const string KindName = "word";

    /// <summary>The default vocabulary size of the original pipeline.</summary>
    public const int DefaultVocabularySize = 1000;

    /// <summary>The number of special ids (PAD, UNK, BOS, EOS) before the first word.</summary>
    public const int SpecialTokenCount = 4;

    private static readonly string[] SpecialTokens = ["<pad>", "<unk>", "<bos>", "<eos>"];

    private readonly WordLevelVocabularyTokenizer _tokenizer;

    private WordLevelTokenizer(IReadOnlyList<string> words, int vocabularySize)
    {
        VocabSize = vocabularySize;
        _tokenizer = new WordLevelVocabularyTokenizer([.. SpecialTokens, .. words], unknownId: 1, firstWordId: SpecialTokenCount);
        Words = words;
    }

    /// <inheritdoc />
    public override string Kind => KindName;

    /// <summary>The requested vocabulary size (the model's size even when the text has fewer distinct words).</summary>
    public override int VocabSize { get; }

    /// <inheritdoc />
    public override int PadId => 0;

    /// <inheritdoc />
    public override int UnkId => 1;

    /// <inheritdoc />
    public override int BosId => 2;

    /// <inheritdoc />
    public override int EosId => 3;

    /// <inheritdoc />
    public override Tokenizer Tokenizer => _tokenizer;

    /// <summary>The words, in id order: word <c>i</c> has id <c>i + 4</c>.</summary>
    public IReadOnlyList<string> Words { get; }

    /// <summary>Builds the vocabulary from normalised training texts exactly as the reference <c>WordVocab</c> does.</summary>
    /// <param name="normalizedTexts">The training texts (the normalised <c>chosen</c> transcripts).</param>
    /// <param name="vocabularySize">The vocabulary size including the 4 special ids; default 1000.</param>
    /// <returns>The tokenizer.</returns>
    public static WordLevelTokenizer Build(IEnumerable<string> normalizedTexts, int vocabularySize = DefaultVocabularySize)
    {
        ArgumentNullException.ThrowIfNull(normalizedTexts);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabularySize, SpecialTokenCount + 1);
        var counts = new WordCounts();
        long position = 0;
        foreach (string text in normalizedTexts)
        {
            ArgumentNullException.ThrowIfNull(text, nameof(normalizedTexts));
            counts.Add(position++, text);
        }

        return FromCounts(counts, vocabularySize);
    }

    /// <summary>The vocabulary of counted words (see <see cref="WordCounts"/>), as <see cref="Build"/> makes it.</summary>
    internal static WordLevelTokenizer FromCounts(WordCounts counts, int vocabularySize) =>
        new(counts.TopWords(vocabularySize - SpecialTokenCount), vocabularySize);

    /// <summary>Creates a tokenizer from a word list (ids from 4 in list order).</summary>
    /// <param name="words">The words, lower-case, without the special tokens, no duplicates.</param>
    /// <param name="vocabularySize">The vocabulary size, at least <c>words.Count + 4</c>.</param>
    /// <returns>The tokenizer.</returns>
    public static WordLevelTokenizer FromWords(IReadOnlyList<string> words, int vocabularySize)
    {
        ArgumentNullException.ThrowIfNull(words);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabularySize, words.Count + SpecialTokenCount);
        return new WordLevelTokenizer(words.ToArray(), vocabularySize);
    }

    /// <summary>The id of a word (lower-cased here), or <see cref="UnkId"/>.</summary>
    /// <param name="word">The word.</param>
    /// <returns>The id.</returns>
    public int GetId(string word) => _tokenizer.GetId(PythonText.ToLower(word));

    internal static WordLevelTokenizer FromJson(JsonElement root)
    {
        var words = root.GetProperty("words").EnumerateArray().Select(e => e.GetString() ?? throw new InvalidDataException("A word is null.")).ToArray();
        int size = root.GetProperty("vocabSize").GetInt32();
        if (size < words.Length + SpecialTokenCount)
        {
            throw new InvalidDataException($"vocabSize {size} is smaller than the {words.Length} words plus {SpecialTokenCount} special ids.");
        }

        try
        {
            return new WordLevelTokenizer(words, size);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
    }

    private protected override void WriteVocabulary(Utf8JsonWriter writer)
    {
        writer.WriteStartArray("words");
        foreach (string word in Words)
        {
            writer.WriteStringValue(word);
        }

        writer.WriteEndArray();
    }
}
