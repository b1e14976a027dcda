namespace NewLlm.Data;

/// <summary>One turn of a transcript: its speaker and its text (the raw text after the speaker marker, trimmed).</summary>
/// <param name="Speaker">The speaker.</param>
/// <param name="Text">The text of the turn, without the speaker marker, leading and trailing whitespace removed.</param>
public sealed record DialogueTurn(DialogueSpeaker Speaker, string Text);
