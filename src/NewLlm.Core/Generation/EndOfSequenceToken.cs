using System.Runtime.CompilerServices;
using Microsoft.ML.Tokenizers;

namespace NewLlm;

/// <summary>
/// Finds a tokenizer's end-of-sequence token for <see cref="IncrementalGenerator"/>'s text methods: the one the tokenizer
/// names (SentencePiece and CodeGen <c>EndOfSentenceId</c>, tiktoken's special tokens), or else the first id below the
/// model's vocabulary size that decodes to a usual spelling of it (<c>&lt;eos&gt;</c> is NewLlm.Data's). Remembered per
/// tokenizer once found; a search that found none is not (a larger vocabulary may have it).
/// </summary>
internal static class EndOfSequenceToken
{
    private static readonly string[] Spellings = ["<eos>", "</s>", "<|endoftext|>", "<|end_of_text|>"];

    private static readonly ConditionalWeakTable<Tokenizer, StrongBox<int>> Found = new();

    /// <summary>The end-of-sequence id of <paramref name="tokenizer"/>, looking through <paramref name="vocabSize"/> ids when it names none; null when none is found.</summary>
    public static int? Find(Tokenizer tokenizer, int vocabSize)
    {
        if (Found.TryGetValue(tokenizer, out StrongBox<int>? known))
        {
            return known.Value;
        }

        int? id = Search(tokenizer, vocabSize);
        if (id is int found)
        {
            Found.AddOrUpdate(tokenizer, new StrongBox<int>(found));
        }

        return id;
    }

    private static int? Search(Tokenizer tokenizer, int vocabSize)
    {
        switch (tokenizer)
        {
            case SentencePieceTokenizer sentencePiece:
                return sentencePiece.EndOfSentenceId;
            case CodeGenTokenizer { EndOfSentenceId: int id }:
                return id;
            case TiktokenTokenizer { SpecialTokens: { } special }:
                return Spellings.Where(special.ContainsKey).Select(spelling => (int?)special[spelling]).FirstOrDefault();
        }

        return Enumerable.Range(0, vocabSize).Select(id => (int?)id).FirstOrDefault(id => Spellings.Contains(tokenizer.Decode([id!.Value])));
    }
}
