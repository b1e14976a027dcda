namespace NewLlm.Data;

/// <summary>The text one row trains on, and the text its words count toward the word-level vocabulary with.</summary>
/// <param name="Text">The whitespace-normalised training text (what the model reads).</param>
/// <param name="VocabularyText">
/// The text whose words the vocabulary is built from: the same as <paramref name="Text"/> for most sets; for Dolly, as in
/// the original, the parts without their <c>Instruction:</c>/<c>Context:</c>/<c>Response:</c> prefixes.
/// </param>
public readonly record struct DialogueText(string Text, string VocabularyText);
