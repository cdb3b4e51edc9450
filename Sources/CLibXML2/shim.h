// libxml2 as the Report target sees it (docs: /work/shared/design/swift-notes.md).
#include <libxml/xmlversion.h>
// Debian builds libxml2 with ICU; its UErrorCode then clashes with Foundation's copy in any
// module that sees both. The report never converts encodings through ICU.
#undef LIBXML_ICU_ENABLED
#include <libxml/HTMLparser.h>
#include <libxml/HTMLtree.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlIO.h>
#include <libxml/encoding.h>

// xmlFree is a mutable global function pointer, which Swift 6 refuses to touch.
static inline void pluralism_xml_free(void *pointer) { xmlFree(pointer); }
